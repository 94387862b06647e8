"""``GZipMiddleware``: compress response bodies for clients that accept gzip."""

from __future__ import annotations

import zlib

from trioapi.datastructures import Headers, MutableHeaders
from trioapi.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["GZipMiddleware"]

# Event streams are read as they arrive; a proxy or browser holding back
# compressed bytes would stall them, so they are never compressed.
DEFAULT_EXCLUDED_CONTENT_TYPES = ("text/event-stream",)

# wbits 16 + MAX_WBITS makes zlib write a gzip header and trailer.
_GZIP_WBITS = 16 + zlib.MAX_WBITS


class GZipMiddleware:
    """Compress responses with gzip when the request's ``Accept-Encoding`` allows it.

    A whole response (one body message) smaller than ``minimum_size`` bytes is
    sent as it is. A streamed response is compressed chunk by chunk, each
    chunk flushed so the client receives it at once; its ``Content-Length``
    is removed. Responses that already have a ``Content-Encoding``, and
    server-sent events, pass through untouched.

    Args:
        app: the ASGI app to wrap.
        minimum_size: whole bodies shorter than this are not compressed.
        compresslevel: gzip level, 1 (fastest) to 9 (smallest).
    """

    def __init__(self, app: ASGIApp, minimum_size: int = 500, compresslevel: int = 9) -> None:
        self.app = app
        self.minimum_size = minimum_size
        self.compresslevel = compresslevel

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app, compressing what it sends if the client accepts gzip."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        accepts_gzip = "gzip" in Headers(scope=scope).get("accept-encoding", "")
        responder = _Responder(
            send, self.minimum_size, self.compresslevel if accepts_gzip else None
        )
        await self.app(scope, receive, responder.send)


class _Responder:
    """The ``send`` for one response: holds back the start message until the body shows its size.

    With ``compresslevel=None`` (the client does not accept gzip) nothing is
    compressed, but a response that would have been still gets
    ``Vary: Accept-Encoding`` so caches keep the two versions apart.
    """

    def __init__(self, send: Send, minimum_size: int, compresslevel: int | None) -> None:
        self._send = send
        self._minimum_size = minimum_size
        self._compresslevel = compresslevel
        self._start: Message | None = None
        self._passthrough = False
        self._compressor: zlib._Compress | None = None

    async def send(self, message: Message) -> None:
        """Forward ``message``, compressing the body when it should be."""
        kind = message["type"]
        if kind == "http.response.start":
            self._start = message
            self._passthrough = _is_excluded(Headers(raw=message.get("headers", [])))
        elif self._start is not None and kind == "http.response.body":
            start, self._start = self._start, None
            await self._send_first_body(start, message)
        elif self._start is not None:
            # Another extension message (say http.response.pathsend): the
            # body does not go through us, so send the start unchanged.
            start, self._start = self._start, None
            await self._send(start)
            await self._send(message)
        elif kind == "http.response.body" and self._compressor is not None:
            await self._send(self._compress_next(self._compressor, message))
        else:
            await self._send(message)

    async def _send_first_body(self, start: Message, message: Message) -> None:
        body: bytes = message.get("body", b"")
        more_body: bool = message.get("more_body", False)
        if self._passthrough or (not more_body and len(body) < self._minimum_size):
            await self._send(start)
            await self._send(message)
            return
        start.setdefault("headers", [])
        headers = MutableHeaders(scope=start)
        headers.add_vary_header("Accept-Encoding")
        if self._compresslevel is not None:
            compressor = zlib.compressobj(self._compresslevel, zlib.DEFLATED, _GZIP_WBITS)
            self._compressor = compressor
            headers["Content-Encoding"] = "gzip"
            message = self._compress_next(compressor, message)
            if more_body:
                del headers["Content-Length"]
            else:
                headers["Content-Length"] = str(len(message["body"]))
        await self._send(start)
        await self._send(message)

    def _compress_next(self, compressor: zlib._Compress, message: Message) -> Message:
        body: bytes = message.get("body", b"")
        if message.get("more_body", False):
            if not body:
                return message
            # A sync flush pushes this chunk's bytes out now instead of
            # keeping them in zlib's buffer until the stream ends.
            data = compressor.compress(body) + compressor.flush(zlib.Z_SYNC_FLUSH)
        else:
            data = compressor.compress(body) + compressor.flush(zlib.Z_FINISH)
            self._compressor = None
        return {**message, "body": data}


def _is_excluded(headers: Headers) -> bool:
    """Whether the response must be sent as it is (already encoded, or an event stream)."""
    if "content-encoding" in headers:
        return True
    return headers.get("content-type", "").startswith(DEFAULT_EXCLUDED_CONTENT_TYPES)
