"""``StreamingResponse``: a body sent chunk by chunk from an iterator, and Starlette's content aliases.

Re-exported by :mod:`trioapi.responses`, the public module.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable, Iterable, Mapping
from contextlib import aclosing
from typing import TypeAlias

import trio

from trioapi._extensions import TrailersSource, can_send_trailers, send_trailers
from trioapi._response import Response
from trioapi._scopes import get_request_context, open_scope_nursery
from trioapi._shutdown import ServerShutdown
from trioapi.background import BackgroundTask
from trioapi.concurrency import iterate_in_threadpool, run_in_threadpool
from trioapi.types import Receive, Scope, Send

__all__ = [
    "AsyncContentStream",
    "Content",
    "ContentStream",
    "StreamingResponse",
    "SyncContentStream",
]

# Closing a stream's iterator after a disconnect must run its `finally`, but
# a finally that hangs must not pin the request forever.
_ACLOSE_GRACE = 5.0


# Starlette's names for what a body may be, and for the two kinds of stream.
Content: TypeAlias = str | bytes | memoryview
SyncContentStream: TypeAlias = Iterable[Content]
AsyncContentStream: TypeAlias = AsyncIterable[Content]
ContentStream: TypeAlias = AsyncIterable[str | bytes] | Iterable[str | bytes]


class StreamingResponse(Response):
    """A response whose body comes from an iterator, chunk by chunk.

    Args:
        content: An async iterable, or a sync iterable (each item is then
            fetched in a worker thread), of ``str`` or ``bytes`` chunks.
        status_code: The HTTP status.
        headers: Extra headers.
        media_type: The Content-Type.
        background: Awaited after the body has been sent.
        trailers: Headers sent after the body (``http.response.trailers``):
            a mapping or ``(name, value)`` pairs, or a sync or async callable
            returning one, called once the last chunk is sent (so it can carry
            a checksum of the body). Sent only where the server offers the
            extension (hypercorn: HTTP/2) and the request says ``TE: trailers``;
            ignored elsewhere.

    No Content-Length is computed; the server chunks the body or closes the
    connection at its end. When a TrioAPI app's server begins a graceful
    shutdown, the stream ends at its next wait for a chunk.
    """

    def __init__(
        self,
        content: ContentStream,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
        trailers: TrailersSource | None = None,
    ) -> None:
        self._source: object = content
        self.trailers = trailers
        self._send_trailers = False
        # The serving app's shutdown, once the response is called.
        self._shutdown: ServerShutdown | None = None
        self.body_iterator: AsyncIterable[str | bytes]
        if isinstance(content, AsyncIterable):
            self.body_iterator = content
        else:
            self.body_iterator = iterate_in_threadpool(content)
        self.status_code = status_code
        if media_type is not None:
            self.media_type = media_type
        self.background = background
        self.init_headers(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Stream the body, stopping early if the client disconnects.

        A checkpoint. A disconnect cancels the sending loop and closes the
        iterator, so its ``finally`` blocks run; the background task still
        runs afterwards, as in Starlette.
        """
        # Watch for the disconnect next to the sending loop. When TrioAPI's
        # receive pump is in front, receive() only ever yields the pump's
        # messages (the rest of the body, then http.disconnect), so reading
        # here cannot steal anything from the server or the endpoint.
        self._send_trailers = self.trailers is not None and can_send_trailers(scope)
        # The serving app's graceful shutdown, carried by the request context.
        context = get_request_context(scope)
        self._shutdown = None if context is None else context.shutdown
        finished = False
        try:
            # open_scope_nursery: an error from the iterator leaves as itself,
            # not wrapped in an exception group, so handlers for it still match.
            async with open_scope_nursery() as nursery:
                nursery.start_soon(self._watch_disconnect, receive, nursery.cancel_scope)
                await self._send_stream(send)
                finished = True
                nursery.cancel_scope.cancel()
        finally:
            if not finished:
                await self._close_iterator()
        if self.background is not None:
            await self.background()

    async def _watch_disconnect(self, receive: Receive, stream_scope: trio.CancelScope) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                stream_scope.cancel()
                return

    async def _send_stream(self, send: Send) -> None:
        start = {
            "type": "http.response.start",
            "status": self.status_code,
            "headers": self.raw_headers,
        }
        if self._send_trailers:
            start["trailers"] = True
        await send(start)
        async with aclosing(self._iter_body()) as chunks:
            async for body in chunks:
                await send({"type": "http.response.body", "body": body, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        if self._send_trailers and self.trailers is not None:
            await send_trailers(send, self.trailers)

    async def _iter_body(self) -> AsyncGenerator[bytes, None]:
        """The body as bytes; it ends early once a TrioAPI server begins a graceful shutdown.

        Use it under ``contextlib.aclosing``. Only the wait for the next chunk
        is interrupted, never a send, so no chunk is cut in half.
        """
        shutdown = self._shutdown
        if shutdown is None:
            async for chunk in self.body_iterator:
                # A checkpoint per chunk: a generator that never awaits, sent
                # through a send that does not either, can still be cancelled.
                await trio.lowlevel.checkpoint()
                yield self._encode(chunk)
            return
        iterator = aiter(self.body_iterator)
        with shutdown.open_stream_stopper() as stopper:
            while True:
                more, chunk = await stopper.next_chunk(iterator)
                if not more:
                    break
                await trio.lowlevel.checkpoint()
                yield self._encode(chunk)
            if stopper.stopped:
                # Interrupted while waiting for a chunk: let the iterator's finally run.
                await self._close_iterator()

    def _encode(self, chunk: str | bytes) -> bytes:
        return chunk.encode(self.charset) if isinstance(chunk, str) else chunk

    async def _close_iterator(self) -> None:
        # Shielded so the iterator's finally can still await after a
        # cancellation (a disconnect or the request's deadline); bounded so a
        # finally that hangs cannot pin the request.
        with trio.move_on_after(_ACLOSE_GRACE, shield=True):
            aclose = getattr(self.body_iterator, "aclose", None)
            if aclose is not None:
                await aclose()
            close = getattr(self._source, "close", None)
            if self._source is not self.body_iterator and callable(close):
                # A sync generator's finally may block, so close it in a thread.
                await run_in_threadpool(close)
