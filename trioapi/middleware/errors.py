"""``ServerErrorMiddleware``: the outermost layer, turning an unhandled error into a 500."""

from __future__ import annotations

import html
import traceback
from collections.abc import Callable
from typing import Any

import trio

from trioapi._exception_groups import collapse_own_groups, single_leaf
from trioapi._scopes import log_request_error
from trioapi.concurrency import is_async_callable, run_in_threadpool
from trioapi.middleware._response_start import ResponseStartWatch, has_started, tracked_context
from trioapi.middleware.exceptions import HANDLERS_KEY, ExceptionMiddleware, answer_raised
from trioapi.requests import Request
from trioapi.responses import HTMLResponse, PlainTextResponse, Response
from trioapi.types import ASGIApp, Receive, Scope, Send

__all__ = ["ServerErrorMiddleware"]

# Returns a Response, or an awaitable of one; Any because sync and async
# handlers share the type.
ErrorHandler = Callable[[Request, Exception], Any]

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>500 Server Error: {title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
h1 {{ color: #b00020; }}
.frame {{ margin: 1em 0; border-left: 4px solid #b00020; padding-left: 1em; }}
.where {{ color: #555; }}
pre {{ background: #f6f6f6; padding: 0.5em; overflow-x: auto; }}
</style>
</head>
<body>
<h1>500 Server Error</h1>
<h2>{title}</h2>
{frames}
<h3>Full traceback</h3>
<pre>{full}</pre>
</body>
</html>
"""

_FRAME = """<div class="frame">
<div class="where">File <b>{filename}</b>, line <b>{lineno}</b>, in <b>{name}</b></div>
<pre>{line}</pre>
</div>"""


class ServerErrorMiddleware:
    """Answer 500 for an exception nothing else handled, then raise it again.

    It sits outside every other layer, so it catches what the exception
    handlers did not. If the response has not started it sends one: with
    ``debug``, the traceback (an HTML page for a client that accepts
    ``text/html``, plain text otherwise); else ``handler``'s response (the
    app's handler for 500 or ``Exception``), or ``Internal Server Error``.
    The exception is always raised again so the server logs it and the test
    client can re-raise it: as the app raised it (a group of its own stays a
    group, as in FastAPI), without the group levels trioapi's own nurseries
    added; the handler sees the error inside a group of one.

    Args:
        app: the ASGI app to wrap.
        handler: ``handler(request, exc)`` returning the 500 response; a sync
            handler runs in a worker thread.
        debug: answer with the traceback.
    """

    def __init__(
        self, app: ASGIApp, handler: ErrorHandler | None = None, debug: bool = False
    ) -> None:
        self.app = app
        self.handler = handler
        self.debug = debug

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app; on an unhandled error answer 500 if still possible, and re-raise."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # The fast path: the request's own tracker records the start, and no
        # watch object is made.
        context = tracked_context(scope, send)
        watch = None if context is not None else ResponseStartWatch(scope, send)
        error: BaseException | None = None
        inner = self.app
        try:
            if type(inner) is ExceptionMiddleware and context is not None:
                # The app's handlers directly inside, with the same send: their
                # layer's work is done here, without its coroutine and a second
                # look at the response start (what ExceptionMiddleware does).
                handlers = inner.handlers
                scope[HANDLERS_KEY] = handlers
                try:
                    await inner.app(scope, receive, send)
                except BaseException as exc:
                    raised = collapse_own_groups(exc)
                    if raised is exc and not isinstance(exc, Exception):
                        raise  # a cancellation, KeyboardInterrupt: not for handlers
                else:
                    return
                await answer_raised(raised, scope, receive, send, context, None, *handlers)
            else:
                await inner(scope, receive, send if watch is None else watch.send)
        except BaseException as exc:
            error = collapse_own_groups(exc)
            if error is exc and not isinstance(exc, Exception):
                raise  # a cancellation, KeyboardInterrupt: no 500 for those
        if error is None:
            return
        if not isinstance(error, Exception):
            raise error
        # Outside the except block, so a reduced group does not become the
        # error's __context__ in the server's log. The handler sees the error
        # inside a group of one, as the exception handlers do.
        try:
            response = await self._error_response(Request(scope), unwrap_single_error(error))
            if not has_started(context, watch):
                await response(scope, receive, send)
        except trio.Cancelled:
            # The request is being cancelled (its deadline passed): the 500
            # is not sent and the error would be lost with the cancellation.
            log_request_error(scope, "Unhandled error", error)
            raise
        raise error

    async def _error_response(self, request: Request, exc: Exception) -> Response:
        if self.debug:
            return self.debug_response(request, exc)
        if self.handler is None:
            return self.error_response(request, exc)
        response: Response
        if is_async_callable(self.handler):
            response = await self.handler(request, exc)
        else:
            response = await run_in_threadpool(self.handler, request, exc)
        return response

    def debug_response(self, request: Request, exc: Exception) -> Response:
        """The traceback: an HTML page if the client accepts ``text/html``, else plain text."""
        if "text/html" in request.headers.get("accept", ""):
            return HTMLResponse(self.generate_html(exc), status_code=500)
        return PlainTextResponse(self.generate_plain_text(exc), status_code=500)

    def error_response(self, request: Request, exc: Exception) -> Response:
        """The production answer: ``Internal Server Error``, revealing nothing."""
        return PlainTextResponse("Internal Server Error", status_code=500)

    def generate_plain_text(self, exc: BaseException) -> str:
        """The traceback as Python prints it."""
        return "".join(traceback.format_exception(exc))

    def generate_html(self, exc: BaseException, limit: int = 7) -> str:
        """An HTML page with the last ``limit`` frames and the full traceback, all escaped."""
        summary = traceback.extract_tb(exc.__traceback__)[-limit:]
        frames = "\n".join(
            _FRAME.format(
                filename=html.escape(frame.filename),
                lineno=frame.lineno,
                name=html.escape(frame.name),
                line=html.escape(frame.line or ""),
            )
            for frame in reversed(summary)
        )
        title = html.escape(f"{type(exc).__name__}: {exc}")
        full = html.escape(self.generate_plain_text(exc))
        return _PAGE.format(title=title, frames=frames, full=full)


def unwrap_single_error(exc: Exception) -> Exception:
    """The error inside a group that holds just one (through nested groups), else ``exc``."""
    if isinstance(exc, BaseExceptionGroup):
        leaf = single_leaf(exc)
        if isinstance(leaf, Exception):
            return leaf
    return exc
