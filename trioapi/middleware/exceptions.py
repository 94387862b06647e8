"""``ExceptionMiddleware``: answer exceptions from the router with the app's handlers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from trioapi._exception_groups import collapse_own_groups, single_leaf
from trioapi._response import PlainTextResponse, Response, has_no_body
from trioapi._scopes import RequestContext
from trioapi.concurrency import is_async_callable, run_in_threadpool
from trioapi.exceptions import HTTPException, TrioAPIError, WebSocketException
from trioapi.middleware._response_start import ResponseStartWatch, has_started, tracked_context
from trioapi.requests import HTTPConnection, Request
from trioapi.types import ASGIApp, Receive, Scope, Send
from trioapi.websockets import WebSocket

__all__ = [
    "HANDLERS_KEY",
    "ExceptionMiddleware",
    "answer_errors_here",
    "answer_raised",
    "lookup_exception_handler",
]

# handler(request_or_websocket, exc) returns a Response (or an awaitable of
# one) for HTTP, None for a WebSocket; Any because sync and async share it.
Handler = Callable[[Any, Exception], Any]
ExceptionHandlers = dict[type[BaseException], Handler]
StatusHandlers = dict[int, Handler]

# Where the handlers are left in the scope for layers inside (a route that
# wants to answer an error before its dependencies are torn down).
HANDLERS_KEY = "trioapi.exception_handlers"


class ExceptionMiddleware:
    """Catch exceptions the router raises and answer them with the registered handlers.

    An ``HTTPException`` is first looked up by its status code, then every
    exception by its class and its bases in MRO order. A Trio exception group
    holding one error (through nested groups) is looked up, and raised if
    unhandled, as that error; a group of several errors reaches only a
    handler registered for ``ExceptionGroup``/``BaseExceptionGroup`` (or a
    subclass), else it propagates to ``ServerErrorMiddleware``.

    Args:
        app: the ASGI app to wrap (the router).
        handlers: ``{status_code or exception class: handler}``.
        debug: accepted for Starlette compatibility; tracebacks are
            ``ServerErrorMiddleware``'s job.
    """

    def __init__(
        self,
        app: ASGIApp,
        handlers: Mapping[Any, Handler] | None = None,
        debug: bool = False,
    ) -> None:
        self.app = app
        self.debug = debug
        self._status_handlers: StatusHandlers = {}
        self._exception_handlers: ExceptionHandlers = {
            HTTPException: self.http_exception,
            WebSocketException: self.websocket_exception,
        }
        for key, handler in (handlers or {}).items():
            self.add_exception_handler(key, handler)
        # What is left in the scope: the two dicts, which later additions change in place.
        self.handlers: tuple[ExceptionHandlers, StatusHandlers] = (
            self._exception_handlers,
            self._status_handlers,
        )

    def add_exception_handler(
        self, exc_class_or_status_code: int | type[BaseException], handler: Handler
    ) -> None:
        """Answer a status code (of an ``HTTPException``) or an exception class with ``handler``.

        Raises:
            TrioAPIError: the key is neither an int nor an exception class.
        """
        key = exc_class_or_status_code
        if isinstance(key, int):
            self._status_handlers[key] = handler
        elif isinstance(key, type) and issubclass(key, BaseException):
            self._exception_handlers[key] = handler
        else:
            raise TrioAPIError(
                f"Exception handler {handler!r} is registered for {key!r}, which is neither a "
                "status code nor an exception class. Register it for an int such as 404 or a "
                "class such as ValueError."
            )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app and answer what it raises with a handler, or let it propagate."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        handlers = self.handlers
        scope[HANDLERS_KEY] = handlers
        await _run_answering_errors(self.app, scope, receive, send, *handlers)

    async def http_exception(self, request: Request, exc: Exception) -> Response:
        """The default answer to ``HTTPException``: its detail as plain text, status and headers.

        Starlette's answer; ``TrioAPI`` registers FastAPI's ``{"detail": ...}``
        JSON handler in its place.
        """
        if not isinstance(exc, HTTPException):  # pragma: no cover - registered for HTTPException
            raise exc
        if has_no_body(exc.status_code):
            return Response(status_code=exc.status_code, headers=exc.headers)
        return PlainTextResponse(str(exc.detail), status_code=exc.status_code, headers=exc.headers)

    async def websocket_exception(self, websocket: WebSocket, exc: Exception) -> None:
        """The default answer to ``WebSocketException``: close the socket with its code and reason."""
        if not isinstance(exc, WebSocketException):  # pragma: no cover - registered for it
            raise exc
        await websocket.close(code=exc.code, reason=exc.reason)


def answer_errors_here(app: ASGIApp) -> ASGIApp:
    """``app``, its errors answered where it runs with the handlers ``ExceptionMiddleware`` left in the scope.

    Starlette answers a route's error in the route, so middleware between
    the app and the route (a ``Mount(middleware=...)``) sees the error's
    response like any other. Without handlers in the scope (no
    ``ExceptionMiddleware`` outside) errors propagate unchanged.
    """

    async def answering(scope: Scope, receive: Receive, send: Send) -> None:
        handlers: tuple[ExceptionHandlers, StatusHandlers] | None = scope.get(HANDLERS_KEY)
        if handlers is None:
            await app(scope, receive, send)
            return
        await _run_answering_errors(app, scope, receive, send, *handlers)

    return answering


async def _run_answering_errors(
    app: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    exception_handlers: ExceptionHandlers,
    status_handlers: StatusHandlers,
) -> None:
    # The fast path: an HTTP request's own tracker records the start, and no
    # watch object is made.
    context = tracked_context(scope, send) if scope["type"] == "http" else None
    watch = None if context is not None else ResponseStartWatch(scope, send)
    app_send = send if watch is None else watch.send
    try:
        await app(scope, receive, app_send)
    except BaseException as exc:
        # The boundary where errors reach the app's handlers: the group levels
        # trioapi's own nurseries added come off here (a level holding an
        # error and its sibling tasks' cancellations stands for that error).
        raised = collapse_own_groups(exc)
        if raised is exc and not isinstance(exc, Exception):
            raise  # a cancellation, KeyboardInterrupt: not for handlers
    else:
        return
    # Handled outside the except block, so a group taken off does not become
    # the error's __context__.
    await answer_raised(
        raised, scope, receive, app_send, context, watch, exception_handlers, status_handlers
    )


async def answer_raised(
    raised: BaseException,
    scope: Scope,
    receive: Receive,
    send: Send,
    context: RequestContext | None,
    watch: ResponseStartWatch | None,
    exception_handlers: ExceptionHandlers,
    status_handlers: StatusHandlers,
) -> None:
    """Answer ``raised`` (what the app raised, its own group levels off) with its handler.

    The second half of ``ExceptionMiddleware``, also run by
    ``ServerErrorMiddleware`` when it runs the first half itself.

    Raises:
        BaseException: ``raised`` when no handler takes it; ``RuntimeError``
            when one does but the response already started (``context`` or
            ``watch`` says); what the handler raises.
    """
    if not isinstance(raised, Exception):
        raise raised
    error, handler = _find_handler(raised, exception_handlers, status_handlers)
    if handler is None:
        raise raised  # as the app raised it, a group of its own included
    if has_started(context, watch):
        raise RuntimeError("Caught handled exception, but response already started.") from error
    connection = _connection_for(scope, receive, send)
    if is_async_callable(handler):
        response = await handler(connection, error)
    else:
        response = await run_in_threadpool(handler, connection, error)
    if response is not None:
        await response(scope, receive, send)
    # An exception instance raised again and again (a module-level one)
    # would otherwise keep every request's frames alive in its traceback.
    error.__traceback__ = None


def _find_handler(
    exc: Exception, exception_handlers: ExceptionHandlers, status_handlers: StatusHandlers
) -> tuple[Exception, Handler | None]:
    """The error to answer (a one-error group reduced to it) and its handler, if any."""
    if isinstance(exc, BaseExceptionGroup):
        leaf = single_leaf(exc)
        if isinstance(leaf, Exception):
            exc = leaf
        elif leaf is None:
            return exc, lookup_exception_handler(exception_handlers, exc, only_groups=True)
    if isinstance(exc, HTTPException) and exc.status_code in status_handlers:
        return exc, status_handlers[exc.status_code]
    return exc, lookup_exception_handler(exception_handlers, exc)


def _connection_for(scope: Scope, receive: Receive, send: Send) -> HTTPConnection:
    """What a handler gets first: a ``Request`` for HTTP, a ``WebSocket`` for a socket."""
    if scope["type"] == "http":
        return Request(scope, receive, send)
    return WebSocket(scope, receive, send)


def lookup_exception_handler(
    handlers: Mapping[type[BaseException], Handler],
    exc: BaseException,
    *,
    only_groups: bool = False,
) -> Handler | None:
    """The handler for ``exc``'s class or its nearest base class that has one.

    With ``only_groups``, only exception-group classes count: a group of
    several errors is not answered by a handler for plain ``Exception``.
    """
    for cls in type(exc).__mro__:
        if only_groups and not issubclass(cls, BaseExceptionGroup):
            break
        if cls in handlers:
            return handlers[cls]
    return None
