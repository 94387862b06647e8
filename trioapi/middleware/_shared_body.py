"""How ``BaseHTTPMiddleware`` shares one request body between ``dispatch`` and the app.

There is one body and two readers, so the rules are Starlette's:

- ``await request.body()`` in ``dispatch`` keeps the body on that request;
  the app then receives it whole, as one ``http.request`` message;
- a ``request.stream()`` that ``dispatch`` read to its end leaves nothing:
  the app receives an empty body (rather than waiting for one forever);
- otherwise the two read the one stream in turn, each getting the chunks the
  other has not taken; once the app has read the end, ``dispatch`` gets
  ``RuntimeError("Stream consumed")``;
- after the body the app receives ``http.disconnect`` when the client goes,
  and at once after the middleware's response has been sent.

The middleware's request caches its body on itself, not in the scope as
other requests do, so the app (and any middleware between) reads the body
through ``receive`` again and sees what a middleware below changed.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

import trio

from trioapi.requests import ClientDisconnect, Request
from trioapi.types import Message

__all__ = ["MiddlewareRequest", "SharedReceive"]

_DISCONNECT: Message = {"type": "http.disconnect"}


class MiddlewareRequest(Request):
    """The request ``dispatch`` gets; its body is cached on itself only."""

    own_body: bytes | None = None

    async def stream(self) -> AsyncGenerator[bytes, None]:
        """The body in chunks, then ``b""``; the cached body if :meth:`body` ran.

        Raises:
            RuntimeError: the stream was already read to its end (here or by the app).
            ClientDisconnect: the client left before the body was complete.
        """
        if self.own_body is not None:
            yield self.own_body
            yield b""
            return
        if self._stream_consumed:
            raise RuntimeError("Stream consumed")
        while not self._stream_consumed:
            chunk = await self._next_chunk()
            if chunk:
                yield chunk
        yield b""

    async def body(self) -> bytes:
        """The whole body, read once and cached on this request.

        Raises:
            RuntimeError: the app already read the body to its end.
            ClientDisconnect: the client left before the body was complete.
        """
        if self.own_body is None:
            self.own_body = b"".join([chunk async for chunk in self.stream()])
        return self.own_body

    @property
    def stream_consumed(self) -> bool:
        """Whether the body's last message has been read (by either reader)."""
        return self._stream_consumed

    @property
    def disconnect_seen(self) -> bool:
        """Whether an ``http.disconnect`` has been read already."""
        return self._is_disconnected

    async def next_chunk(self) -> bytes:
        """The next piece of the body from ``receive``. A checkpoint.

        Raises:
            ClientDisconnect: the client left before the body was complete.
        """
        return await self._next_chunk()

    async def wait_disconnect(self) -> None:
        """Wait for the ``http.disconnect`` that follows a complete body. A checkpoint.

        Raises:
            RuntimeError: ``receive`` gave something else (a server bug).
        """
        message = await self._next_message()
        if message["type"] != "http.disconnect":
            raise RuntimeError(
                f"Received {message['type']!r} after the request body was complete; "
                "only 'http.disconnect' may follow it."
            )
        self._is_disconnected = True


class SharedReceive:
    """The ``receive`` the app (and the middleware's response) gets."""

    def __init__(self, request: MiddlewareRequest) -> None:
        self._request = request
        self._body_done = False
        self._disconnected = False
        self._response_sent = False
        self._waiting: set[trio.CancelScope] = set()

    def response_sent(self) -> None:
        """From now on every call (and one waiting now) returns ``http.disconnect``."""
        self._response_sent = True
        for waiting in self._waiting:
            waiting.cancel()

    async def __call__(self) -> Message:
        """The next message for the app. A checkpoint."""
        if self._response_sent:
            await trio.lowlevel.checkpoint()
            return dict(_DISCONNECT)
        with trio.CancelScope() as waiting:
            self._waiting.add(waiting)
            try:
                return await self._next()
            finally:
                self._waiting.discard(waiting)
        # Cancelled by response_sent(): nothing the app could read matters now.
        return dict(_DISCONNECT)

    async def _next(self) -> Message:
        request = self._request
        if self._disconnected:
            await trio.lowlevel.checkpoint()
            return dict(_DISCONNECT)
        if self._body_done:
            if not request.disconnect_seen:
                await request.wait_disconnect()
            self._disconnected = True
            return dict(_DISCONNECT)
        if request.own_body is not None or request.stream_consumed:
            # dispatch read the body: it is kept (body()) or gone (stream()).
            self._body_done = True
            await trio.lowlevel.checkpoint()
            body = request.own_body or b""
            return {"type": "http.request", "body": body, "more_body": False}
        try:
            chunk = await request.next_chunk()
        except ClientDisconnect:
            self._disconnected = True
            return dict(_DISCONNECT)
        self._body_done = request.stream_consumed
        return {"type": "http.request", "body": chunk, "more_body": not self._body_done}
