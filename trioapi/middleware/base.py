"""``BaseHTTPMiddleware``: write middleware as ``async def dispatch(request, call_next)``.

The downstream app runs as a child task in a nursery owned by this
middleware's call, and its messages come back through an unbuffered memory
channel. So, unlike Starlette's version:

- ``call_next`` returns as soon as the app sends ``http.response.start``; the
  body then streams through, one chunk at a time, with back-pressure;
- context variables set before ``call_next`` reach the endpoint (the child
  task copies the context when it is spawned), and ones the endpoint set
  before starting its response are set again in the middleware's task
  before ``call_next`` returns (a ``def`` endpoint runs in a worker thread
  on a copy of the context, so what it sets stays there, as in FastAPI);
- the response's background tasks run after its body has been sent, and the
  middleware's call returns only when they are done;
- cancelling the middleware's call (a client disconnect, a deadline) reaches
  the app, which never outlives the call;
- an exception from the app comes out of ``call_next`` (or out of reading
  the body) as itself, never wrapped in an exception group.
"""

from __future__ import annotations

import contextvars
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    MutableMapping,
)
from typing import Any

import trio

from trioapi._scopes import open_scope_nursery
from trioapi.middleware._shared_body import MiddlewareRequest, SharedReceive
from trioapi.middleware.errors import unwrap_single_error
from trioapi.requests import Request
from trioapi.responses import Response, StreamingResponse
from trioapi.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "AsyncContentStream",
    "BaseHTTPMiddleware",
    "BodyStreamGenerator",
    "DispatchFunction",
    "RequestResponseEndpoint",
]

RequestResponseEndpoint = Callable[[Request], Awaitable[Response]]
# Starlette's names for a response body iterator, and for the request body
# stream a middleware may hand on.
AsyncContentStream = AsyncIterable[str | bytes | memoryview]
BodyStreamGenerator = AsyncGenerator[bytes | MutableMapping[str, Any], None]
DispatchFunction = Callable[[Request, RequestResponseEndpoint], Awaitable[Response]]

_MISSING = object()


class BaseHTTPMiddleware:
    """Middleware written as one coroutine around the rest of the app.

    Subclass it and override :meth:`dispatch`, or pass ``dispatch=``::

        async def add_timing(request, call_next):
            response = await call_next(request)
            response.headers["X-Elapsed"] = "..."
            return response

        app.add_middleware(BaseHTTPMiddleware, dispatch=add_timing)

    ``dispatch`` may read the request body: after ``await request.body()``
    the app receives it again whole; after reading ``request.stream()`` to
    its end the app receives an empty body; a partly read stream is shared,
    each reader getting the chunks the other left (see
    ``trioapi.middleware._shared_body``). If ``dispatch`` returns a response
    without reading the body of the one ``call_next`` gave it, the app is
    cancelled once that response has been sent. Only HTTP passes through
    ``dispatch``; WebSocket and lifespan calls go straight to the app.

    Args:
        app: the ASGI app to wrap.
        dispatch: ``async def dispatch(request, call_next) -> Response``;
            defaults to the :meth:`dispatch` method.
    """

    def __init__(self, app: ASGIApp, dispatch: DispatchFunction | None = None) -> None:
        self.app = app
        self.dispatch_func: DispatchFunction = self.dispatch if dispatch is None else dispatch

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        """Handle one request: usually ``return await call_next(request)`` with changes around it.

        Raises:
            NotImplementedError: neither overridden nor given as ``dispatch=``.
        """
        raise NotImplementedError(
            f"{type(self).__name__} has no dispatch: override dispatch() in the subclass, "
            "or pass BaseHTTPMiddleware(app, dispatch=your_function)."
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run ``dispatch`` and send the response it returns.

        A checkpoint. Returns once the response is sent and the app (with its
        background tasks) has finished; cancellation cancels the app too.
        """
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = MiddlewareRequest(scope, receive=receive, send=send)
        shared_receive = SharedReceive(request)
        async with open_scope_nursery() as nursery:
            call_next = _CallNext(self.app, shared_receive, nursery)
            response = await self.dispatch_func(request, call_next)
            if not callable(response):
                raise TypeError(
                    f"dispatch() returned {response!r} instead of a response. Return the "
                    "response from `await call_next(request)`, or a Response of your own."
                )
            await response(scope, shared_receive, send)
            shared_receive.response_sent()
            call_next.finish()
        call_next.raise_undelivered_error()


class _CallNext:
    """``call_next``: start the app in the nursery and wait for its response to start."""

    def __init__(self, app: ASGIApp, receive: SharedReceive, nursery: trio.Nursery) -> None:
        self._app = app
        self._receive = receive
        self._nursery = nursery
        self._calls: list[_Downstream] = []

    async def __call__(self, request: Request) -> Response:
        """Run the app for ``request`` and return its response as soon as it starts.

        A checkpoint. Raises what the app raised before starting its response.

        Raises:
            RuntimeError: the app finished without sending a response.
        """
        downstream = _Downstream(self._app, request.scope, self._receive)
        self._calls.append(downstream)
        self._nursery.start_soon(downstream.run)
        start = await downstream.wait_response_start()
        return _DownstreamResponse(start, downstream)

    def finish(self) -> None:
        """After the response went out: let finished apps run their background tasks, cancel the rest."""
        for downstream in self._calls:
            if downstream.body_complete:
                downstream.response_sent.set()
            else:
                downstream.cancel_scope.cancel()

    def raise_undelivered_error(self) -> None:
        """Raise an error an app raised after its body was sent (say, in a background task)."""
        for downstream in self._calls:
            if downstream.error is not None and not downstream.error_delivered:
                downstream.error_delivered = True
                raise downstream.error


class _Downstream:
    """One run of the downstream app, in a child task, talking through a memory channel."""

    def __init__(self, app: ASGIApp, scope: Scope, receive: Receive) -> None:
        self._app = app
        self._scope = scope
        self._receive = receive
        # Unbuffered: the app's send() returns only once the middleware took
        # the message, so a slow client slows the app instead of filling memory.
        self._to_middleware, self._from_app = trio.open_memory_channel[Message](0)
        self.cancel_scope = trio.CancelScope()
        self.error: Exception | None = None
        self.error_delivered = False
        self.body_complete = False
        # Debug info and early hints the app sent before its start: the
        # response call_next returns sends them first.
        self.before_start: list[Message] = []
        # Set once the response holding this body has been sent; until then
        # the app's last send() waits, so its background tasks run after.
        self.response_sent = trio.Event()
        self._app_finished_response = False
        self._context: contextvars.Context | None = None

    async def run(self) -> None:
        """The child task: run the app, keeping its error for the middleware to raise."""
        with self.cancel_scope:
            async with self._to_middleware:
                try:
                    await self._app(self._scope, self._receive, self._send)
                except Exception as exc:
                    # Kept, not raised: raised here it would cancel the
                    # middleware's task instead of coming out of call_next.
                    self.error = unwrap_single_error(exc)

    async def _send(self, message: Message) -> None:
        if self._app_finished_response:
            return  # nobody reads after the last body message; do not block on it
        if message["type"] == "http.response.start":
            # The endpoint's context, to set its variables again in the middleware.
            self._context = contextvars.copy_context()
        elif _is_last_message(message):
            self._app_finished_response = True
            await self._to_middleware.send(message)
            await self.response_sent.wait()
            return
        await self._to_middleware.send(message)

    async def wait_response_start(self) -> Message:
        """The app's ``http.response.start``, with the app's context variables set here.

        Raises:
            Exception: what the app raised before starting its response.
            RuntimeError: the app finished without starting a response.
        """
        try:
            message = await self._from_app.receive()
            while message["type"] in _BEFORE_START:
                self.before_start.append(message)
                message = await self._from_app.receive()
        except trio.EndOfChannel:
            error = self._take_error()
            if error is None:
                raise RuntimeError("No response returned.") from None
            # Raised here its __context__ would be the EndOfChannel: keep the
            # app's own context (as the cause) or none, never the channel's.
            raise error from error.__cause__ or error.__context__
        if message["type"] != "http.response.start":
            raise RuntimeError(
                f"The app sent {message['type']!r} before 'http.response.start'. An ASGI app "
                "must start its response before sending its body."
            )
        self._restore_context()
        return message

    async def next_body_message(self) -> Message | None:
        """The app's next message after the start, or None once the response is complete.

        Raises what the app raised while sending its body.
        """
        if self.body_complete:
            return None
        message = await self._next_message()
        if message is None:
            error = self._take_error()
            if error is not None:
                raise error
            return None
        if _is_last_message(message):
            self.body_complete = True
        return message

    async def _next_message(self) -> Message | None:
        try:
            return await self._from_app.receive()
        except trio.EndOfChannel:
            return None

    def _take_error(self) -> Exception | None:
        if self.error is not None:
            self.error_delivered = True
        return self.error

    def _restore_context(self) -> None:
        if self._context is None:
            return
        for var, value in self._context.items():
            if var.get(_MISSING) is not value:
                var.set(value)


_BEFORE_START = ("http.response.debug", "http.response.early_hint")


def _is_last_message(message: Message) -> bool:
    kind = message["type"]
    if kind == "http.response.body":
        return not message.get("more_body", False)
    return kind in ("http.response.pathsend", "http.response.zerocopysend") and not message.get(
        "more_body", False
    )


class _DownstreamBody:
    """``response.body_iterator``: the body chunks as the app sends them, empty ones skipped."""

    def __init__(self, downstream: _Downstream) -> None:
        self._downstream = downstream
        self._closed = False

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def aclose(self) -> None:
        """Stop reading the body: the iterator ends here. A checkpoint.

        The app, still sending, is cancelled once the middleware's response
        has been sent.
        """
        self._closed = True
        await trio.lowlevel.checkpoint()

    async def __anext__(self) -> bytes:
        while True:
            if self._closed:
                raise StopAsyncIteration
            message = await self._downstream.next_body_message()
            if message is None:
                raise StopAsyncIteration
            body = message.get("body", b"") if message["type"] == "http.response.body" else b""
            if body:  # empty framing messages (the final one, usually) carry nothing to yield
                return bytes(body)


class _DownstreamResponse(StreamingResponse):
    """What ``call_next`` returns: the app's response, its body still coming.

    Its status and headers may be changed before it is sent. If
    ``body_iterator`` is left as it is, the app's body is forwarded piece by
    piece as the app sends it, each with ``more_body``, then an empty last
    message (Starlette's framing); ``pathsend`` goes through as it is.
    """

    def __init__(self, start: Message, downstream: _Downstream) -> None:
        self._own_body = _DownstreamBody(downstream)
        super().__init__(self._own_body, status_code=start["status"])
        self.raw_headers = [(bytes(name), bytes(value)) for name, value in start.get("headers", [])]
        self._start = start
        self._downstream = downstream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the (possibly edited) start, then the body as the app sends it.

        A checkpoint; each body message waits for the app to produce it.
        """
        for early in self._downstream.before_start:
            await send(early)
        await send({**self._start, "status": self.status_code, "headers": self.raw_headers})
        if self.body_iterator is self._own_body:
            while (message := await self._downstream.next_body_message()) is not None:
                if message["type"] != "http.response.body":
                    await send(message)  # pathsend, zerocopysend: passed as they are
                    continue
                # Starlette's framing, which ported tests compare: each piece
                # of body with more_body, then an empty last message.
                if body := message.get("body", b""):
                    await send({"type": "http.response.body", "body": body, "more_body": True})
                if not message.get("more_body", False):
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
            self._downstream.response_sent.set()
        else:
            async for chunk in self.body_iterator:
                body = chunk.encode(self.charset) if isinstance(chunk, str) else chunk
                await send({"type": "http.response.body", "body": body, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        if self.background is not None:
            await self.background()
