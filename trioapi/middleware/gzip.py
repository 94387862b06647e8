"""``GZipMiddleware``: compress response bodies for clients that accept gzip."""

from __future__ import annotations

import zlib

import trio

from trioapi.datastructures import Headers, MutableHeaders
from trioapi.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "DEFAULT_EXCLUDED_CONTENT_TYPES",
    "GZipMiddleware",
    "GZipResponder",
    "IdentityResponder",
    "unattached_send",
]

# Media types that are already compressed (archives, images, audio, video,
# fonts) gain nothing from gzip, and gRPC frames its own messages. Event
# streams are read as they arrive; a proxy or browser holding back compressed
# bytes would stall them. ``type/*`` matches every subtype.
DEFAULT_EXCLUDED_CONTENT_TYPES = (
    "application/grpc",
    "application/gzip",
    "application/x-gzip",
    "application/zip",
    "audio/*",
    "font/woff",
    "font/woff2",
    "image/avif",
    "image/gif",
    "image/jpeg",
    "image/png",
    "image/webp",
    "text/event-stream",
    "video/*",
)

# wbits 16 + MAX_WBITS makes zlib write a gzip header and trailer.
_GZIP_WBITS = 16 + zlib.MAX_WBITS
_DEFAULT_THREAD_MINIMUM_SIZE = 128 * 1024

# Big chunks are compressed in a worker thread, under a limiter of their own
# so a burst of large responses cannot take every thread sync endpoints need.
# One per Trio run: a CapacityLimiter belongs to the loop that made it.
_gzip_limiter: trio.lowlevel.RunVar[trio.CapacityLimiter] = trio.lowlevel.RunVar("gzip_limiter")


def _thread_limiter() -> trio.CapacityLimiter:
    try:
        return _gzip_limiter.get()
    except LookupError:
        limiter = trio.CapacityLimiter(40)
        _gzip_limiter.set(limiter)
        return limiter


class GZipMiddleware:
    """Compress responses with gzip when the request's ``Accept-Encoding`` allows it.

    A whole response (one body message) smaller than ``minimum_size`` bytes is
    sent as it is. A streamed response is compressed chunk by chunk, each
    chunk flushed so the client receives it at once; its ``Content-Length``
    is removed. Responses that already have a ``Content-Encoding``, partial
    (206) responses and excluded media types pass through untouched.

    Args:
        app: the ASGI app to wrap.
        minimum_size: whole bodies shorter than this are not compressed.
        compresslevel: gzip level, 1 (fastest) to 9 (smallest).
        thread_minimum_size: chunks at least this long are compressed in a
            worker thread instead of blocking the event loop.
        exclude_content_types: media types never compressed (parameters and
            case are ignored; ``type/*`` matches a whole family).
    """

    def __init__(
        self,
        app: ASGIApp,
        minimum_size: int = 500,
        compresslevel: int = 9,
        thread_minimum_size: int = _DEFAULT_THREAD_MINIMUM_SIZE,
        *,
        exclude_content_types: tuple[str, ...] = DEFAULT_EXCLUDED_CONTENT_TYPES,
    ) -> None:
        self.app = app
        self.minimum_size = minimum_size
        self.compresslevel = compresslevel
        self.thread_minimum_size = thread_minimum_size
        self.exclude_content_types = _normalize(exclude_content_types)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app, compressing what it sends if the client accepts gzip."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        responder: IdentityResponder
        if "gzip" in Headers(scope=scope).get("accept-encoding", ""):
            responder = GZipResponder(
                self.app,
                self.minimum_size,
                self.compresslevel,
                thread_minimum_size=self.thread_minimum_size,
                exclude_content_types=self.exclude_content_types,
            )
        else:
            responder = IdentityResponder(
                self.app, self.minimum_size, exclude_content_types=self.exclude_content_types
            )
        await responder(scope, receive, send)


class IdentityResponder:
    """Run an app for one response, sending its body as it is.

    It still adds ``Vary: Accept-Encoding`` to a response gzip would have
    compressed, so caches keep the two versions apart. The start message is
    held back until the first body shows whether that applies.

    Args:
        app: the ASGI app to run.
        minimum_size: whole bodies shorter than this are left alone.
        exclude_content_types: media types left alone.
    """

    content_encoding: str | None = None

    def __init__(
        self,
        app: ASGIApp,
        minimum_size: int,
        *,
        exclude_content_types: tuple[str, ...] = DEFAULT_EXCLUDED_CONTENT_TYPES,
    ) -> None:
        self.app = app
        self.minimum_size = minimum_size
        self.exclude_content_types = _normalize(exclude_content_types)
        self._send: Send = unattached_send
        self._start: Message | None = None
        self._passthrough = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app with this responder's ``send``."""
        self._send = send
        await self.app(scope, receive, self.send_with_compression)

    async def send_with_compression(self, message: Message) -> None:
        """Forward ``message``, compressing the body when it should be."""
        kind = message["type"]
        if kind == "http.response.start":
            message.setdefault("headers", [])
            self._passthrough = self._is_left_alone(message)
            if self._passthrough:
                await self._send(message)
            else:
                self._start = message
        elif self._passthrough or kind in ("http.response.early_hint", "http.response.trailers"):
            await self._send(message)
        elif self._start is not None:
            start, self._start = self._start, None
            if kind == "http.response.body":
                await self._send_first_body(start, message)
            else:
                # http.response.pathsend: the body does not go through us.
                await self._send(start)
                await self._send(message)
        elif kind == "http.response.body":
            more_body = message.get("more_body", False)
            body = message.get("body", b"")
            if body or not more_body:
                message["body"] = await self.apply_compression(body, more_body=more_body)
            await self._send(message)
        else:
            await self._send(message)

    def _is_left_alone(self, start: Message) -> bool:
        """Whether the response goes out as it is: already encoded, partial, or excluded."""
        headers = Headers(raw=start["headers"])
        if "content-encoding" in headers or start.get("status") == 206:
            return True
        media_type = _normalize((headers.get("content-type", ""),))[0]
        candidates = {media_type, media_type.partition("/")[0] + "/*"}
        if media_type.startswith("application/grpc+"):
            candidates.add("application/grpc")
        return not candidates.isdisjoint(self.exclude_content_types)

    async def _send_first_body(self, start: Message, message: Message) -> None:
        body: bytes = message.get("body", b"")
        more_body: bool = message.get("more_body", False)
        if not more_body and len(body) < self.minimum_size:
            await self._send(start)
            await self._send(message)
            return
        headers = MutableHeaders(scope=start)
        headers.add_vary_header("Accept-Encoding")
        compressed = await self.apply_compression(body, more_body=more_body)
        if self.content_encoding is not None:
            headers["Content-Encoding"] = self.content_encoding
            if more_body or start.get("trailers", False):
                # The length is unknown until the stream ends (or the trailers come).
                del headers["Content-Length"]
            else:
                headers["Content-Length"] = str(len(compressed))
            message["body"] = compressed
        await self._send(start)
        await self._send(message)

    async def apply_compression(self, body: bytes, *, more_body: bool) -> bytes:
        """The bytes to send for ``body``; the identity responder sends it unchanged.

        A checkpoint only where a subclass compresses in a worker thread.
        """
        return body


class GZipResponder(IdentityResponder):
    """Run an app for one response, compressing its body with gzip.

    Args:
        app: the ASGI app to run.
        minimum_size: whole bodies shorter than this are left alone.
        compresslevel: gzip level, 1 (fastest) to 9 (smallest).
        thread_minimum_size: chunks at least this long are compressed in a worker thread.
        exclude_content_types: media types left alone.
    """

    content_encoding = "gzip"

    def __init__(
        self,
        app: ASGIApp,
        minimum_size: int,
        compresslevel: int = 9,
        *,
        thread_minimum_size: int = _DEFAULT_THREAD_MINIMUM_SIZE,
        exclude_content_types: tuple[str, ...] = DEFAULT_EXCLUDED_CONTENT_TYPES,
    ) -> None:
        super().__init__(app, minimum_size, exclude_content_types=exclude_content_types)
        self.compresslevel = compresslevel
        self.thread_minimum_size = thread_minimum_size
        self._compressor: zlib._Compress | None = None

    async def apply_compression(self, body: bytes, *, more_body: bool) -> bytes:
        """Compress ``body``; the last chunk (``more_body`` false) ends the gzip stream.

        A checkpoint when ``body`` is at least ``thread_minimum_size`` long
        (it is compressed in a worker thread; cancellation waits for it).
        """
        if len(body) >= self.thread_minimum_size:
            return await trio.to_thread.run_sync(
                self._compress, body, more_body, limiter=_thread_limiter()
            )
        return self._compress(body, more_body)

    def _compress(self, body: bytes, more_body: bool) -> bytes:
        if self._compressor is None:
            self._compressor = zlib.compressobj(self.compresslevel, zlib.DEFLATED, _GZIP_WBITS)
        # A sync flush pushes this chunk's bytes out now instead of keeping
        # them in zlib's buffer until the stream ends.
        mode = zlib.Z_SYNC_FLUSH if more_body else zlib.Z_FINISH
        return self._compressor.compress(body) + self._compressor.flush(mode)


async def unattached_send(message: Message) -> None:
    """The ``send`` of a responder that was never run as an ASGI app: always an error."""
    raise RuntimeError(
        "send_with_compression() was called before the responder was run; "
        "call the responder as an ASGI app: await responder(scope, receive, send)."
    )


def _normalize(content_types: tuple[str, ...]) -> tuple[str, ...]:
    """Media types without parameters, lower-cased, as they are compared."""
    return tuple(value.partition(";")[0].strip().lower() for value in content_types)
