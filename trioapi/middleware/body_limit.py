"""``RequestBodyLimitMiddleware``: refuse request bodies above a size with 413.

One limit is in force per request. The outermost limit middleware counts
the bytes; an inner one (a route's or a mount's ``max_body_size``) does not
count again but replaces the limit, so a route can raise the application's
limit as well as lower it. The limit in force is also visible to the app as
``scope[MAX_BODY_SIZE_SCOPE_KEY]``.
"""

from __future__ import annotations

from trioapi.datastructures import Headers
from trioapi.exceptions import HTTPException
from trioapi.responses import PlainTextResponse
from trioapi.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["MAX_BODY_SIZE_SCOPE_KEY", "RequestBodyLimitMiddleware", "RequestBodyLimitResponder"]

#: The scope key holding the body limit (bytes) in force for this request.
MAX_BODY_SIZE_SCOPE_KEY = "trioapi.max_body_size"
# The request's counter, shared by every limit middleware it passes through
# (and kept by shallow scope copies, since the value is the same object).
_COUNTER_SCOPE_KEY = "trioapi._body_limit_counter"
_TOO_LARGE = "Content Too Large"


class _BodyTooLarge(HTTPException):
    """The body passed the limit: a 413, also for exception handlers on the way out."""

    def __init__(self) -> None:
        super().__init__(status_code=413, detail=_TOO_LARGE)


class _RefusalSent(Exception):
    """The 413 went out in place of the app's own response; unwinds the app."""


class RequestBodyLimitMiddleware:
    """Answer ``413 Content Too Large`` to a request whose body passes ``max_body_size`` bytes.

    A ``Content-Length`` above the limit is refused as soon as the app reads
    the body or starts its response, without reading the body. Otherwise the
    bytes are counted as the app reads them; the read that passes the limit
    raises an ``HTTPException(413)``, which becomes a plain-text 413 if no
    response has started (once one has, it propagates).

    Args:
        app: the ASGI app to wrap.
        max_body_size: the largest body accepted, in bytes.
    """

    def __init__(self, app: ASGIApp, max_body_size: int) -> None:
        self.app = app
        self.max_body_size = max_body_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app with the limit in force."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await RequestBodyLimitResponder(self.app, self.max_body_size)(scope, receive, send)


class RequestBodyLimitResponder:
    """The limit for one request: counts its body bytes, or adjusts an outer count.

    Args:
        app: the ASGI app to run.
        max_body_size: the largest body accepted, in bytes.
    """

    def __init__(self, app: ASGIApp, max_body_size: int) -> None:
        self.app = app
        self.max_body_size = max_body_size
        self.total_size = 0
        self.content_length: int | None = None
        self.response_started = False
        self._scope: Scope = {}
        self._receive: Receive = _unattached_receive
        self._send: Send = _unattached_send

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app, counting (or, under an outer limit, only setting) the limit."""
        outer: RequestBodyLimitResponder | None = scope.get(_COUNTER_SCOPE_KEY)
        if outer is not None:
            # An outer limit already counts this request: only the limit changes.
            outer.max_body_size = self.max_body_size
            scope[MAX_BODY_SIZE_SCOPE_KEY] = self.max_body_size
            if outer.total_size > self.max_body_size:
                raise _BodyTooLarge
            await self.app(scope, receive, send)
            return
        self._scope, self._receive, self._send = scope, receive, send
        self.content_length = _content_length(scope)
        had_limit = MAX_BODY_SIZE_SCOPE_KEY in scope
        previous_limit = scope.get(MAX_BODY_SIZE_SCOPE_KEY)
        scope[MAX_BODY_SIZE_SCOPE_KEY] = self.max_body_size
        scope[_COUNTER_SCOPE_KEY] = self
        try:
            await self.app(scope, self.receive_with_limit, self.send_with_limit)
        except _BodyTooLarge:
            if self.response_started:
                raise
            await self._refuse(scope)
        except _RefusalSent:
            pass
        finally:
            scope.pop(_COUNTER_SCOPE_KEY, None)
            if had_limit:
                scope[MAX_BODY_SIZE_SCOPE_KEY] = previous_limit
            else:
                scope.pop(MAX_BODY_SIZE_SCOPE_KEY, None)

    def _declared_too_large(self) -> bool:
        return self.content_length is not None and self.content_length > self.max_body_size

    async def receive_with_limit(self) -> Message:
        """The server's next message, counting body bytes against the limit.

        A checkpoint. Raises ``HTTPException(413)`` at the read that passes it.
        """
        if self._declared_too_large():
            raise _BodyTooLarge
        message = await self._receive()
        if message["type"] == "http.request":
            self.total_size += len(message.get("body", b""))
            if self.total_size > self.max_body_size:
                raise _BodyTooLarge
        return message

    async def send_with_limit(self, message: Message) -> None:
        """Forward ``message``; a start for a body declared too large is replaced by the 413."""
        if message["type"] == "http.response.start":
            self.response_started = True
            # The app answered without reading the body; the limit in force
            # now (perhaps a route's) decides whether that answer may stand.
            if self._declared_too_large():
                await self._refuse(self._scope)
                raise _RefusalSent
        await self._send(message)

    async def _refuse(self, scope: Scope) -> None:
        response = PlainTextResponse(_TOO_LARGE, status_code=413)
        await response(scope, self._receive, self._send)


async def _unattached_receive() -> Message:
    raise RuntimeError("RequestBodyLimitResponder was not run: call it as an ASGI app.")


async def _unattached_send(message: Message) -> None:
    raise RuntimeError("RequestBodyLimitResponder was not run: call it as an ASGI app.")


def _content_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length")
    if value is None or not value.isdigit():
        return None
    return int(value)
