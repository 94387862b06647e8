"""Graceful shutdown: open WebSockets close with 1001 and open streams end.

Hypercorn's trio worker, once its shutdown trigger fires, stops accepting
connections and gives the open ones ``graceful_timeout`` seconds before it
cancels them; only then does the lifespan hear ``lifespan.shutdown``. So the
lifespan cannot warn the app in time. :meth:`TrioAPI.shutdown_trigger` wraps
the server's trigger instead (``trioapi.server`` does so for hypercorn's
command line and ``trioapi run``): when it fires, :meth:`ServerShutdown.begin`

- sends ``websocket.close`` 1001 ("going away") on every accepted socket,
  after which the endpoint's ``receive`` reports a 1001 disconnect and its
  sends raise :class:`ServerGoingAway` (``WebSocketDisconnect(1001)`` to a
  :class:`~trioapi.websockets.WebSocket`);
- stops every streaming response at its next wait for a chunk, which then
  ends its body properly instead of being cut by the hard cancel.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import trio

from trioapi.types import Message, Receive, Send

GOING_AWAY = 1001
# Seconds one close frame may take to send (a client that does not read).
CLOSE_GRACE = 2.0
# Seconds an endpoint has, after its socket was closed, to return on its own
# (its next receive reports the disconnect); then it is cancelled.
ENDPOINT_GRACE = 1.0

_GOING_AWAY_CLOSE = {
    "type": "websocket.close",
    "code": GOING_AWAY,
    "reason": "Server shutting down",
}


class ServerGoingAway(trio.ClosedResourceError):
    """A WebSocket message was sent after the server closed the socket for shutdown."""


class StreamStopper:
    """Lets a shutdown interrupt one stream's wait for its next chunk, and nothing else.

    Only the wait for the iterator is interrupted, never a ``send``, so a
    chunk is never cut in half.
    """

    __slots__ = ("_scope", "stopped")

    def __init__(self, stopped: bool) -> None:
        self.stopped = stopped
        self._scope: trio.CancelScope | None = None

    def stop(self) -> None:
        """Make the current and every later :meth:`next_chunk` report the end."""
        self.stopped = True
        if self._scope is not None:
            self._scope.cancel()

    async def next_chunk(self, iterator: AsyncIterator[Any]) -> tuple[bool, Any]:
        """``(True, chunk)``, or ``(False, None)`` at the end or once stopped. A checkpoint."""
        if self.stopped:
            return False, None
        with trio.CancelScope() as scope:
            self._scope = scope
            try:
                return True, await iterator.__anext__()
            except StopAsyncIteration:
                return False, None
            finally:
                self._scope = None
        return False, None


class SocketGuard:
    """Stands between one WebSocket app and the server, to close it at shutdown."""

    def __init__(self, receive: Receive, send: Send) -> None:
        self._receive = receive
        self._send = send
        self._lock = trio.Lock()
        self._receive_scope: trio.CancelScope | None = None
        self._call_scope = trio.CancelScope()
        self.accepted = False
        self.closed = False
        self.going_away = False
        # Whether the app has received the server's websocket.connect.
        self._connect_received = False

    async def run(self, call: Callable[[Receive, Send], Awaitable[None]]) -> None:
        """Await ``call(receive, send)`` with this guard's receive and send. A checkpoint.

        Once the socket has been closed for shutdown, the call has
        :data:`ENDPOINT_GRACE` seconds to return before it is cancelled.
        """
        with self._call_scope:
            await call(self.receive, self.send)

    async def receive(self) -> Message:
        """The server's next message; a 1001 disconnect once the server is going away.

        The server's first message, ``websocket.connect``, always reaches the
        app, so an endpoint that accepts after shutdown began gets its socket
        closed with 1001 like every other (see :meth:`send`), not an error.
        """
        if not self._connect_received:
            # Not interrupted by go_away(): the server has it queued already.
            message = await self._receive()
            self._connect_received = message["type"] == "websocket.connect"
            return message
        if not self.going_away:
            with trio.CancelScope() as scope:
                self._receive_scope = scope
                try:
                    return await self._receive()
                finally:
                    self._receive_scope = None
        return {"type": "websocket.disconnect", "code": GOING_AWAY, "reason": ""}

    async def send(self, message: Message) -> None:
        """Forward ``message``, unless the socket was already closed for shutdown.

        Raises:
            ServerGoingAway: A data message after the shutdown close.
        """
        async with self._lock:
            kind = message["type"]
            if self.going_away and not self.closed and kind == "websocket.accept":
                # Shutting down before the handshake finished: complete it and
                # close at once with 1001, as every open socket is closed, so
                # the client hears "going away" (and reconnects elsewhere)
                # rather than a refused handshake (403).
                self.accepted = self.closed = True
                await self._send(message)
                await self._send(_GOING_AWAY_CLOSE)
                return
            if self.going_away and self.closed:
                if kind == "websocket.close":
                    return
                raise ServerGoingAway(
                    "The server closed this WebSocket because it is shutting down."
                )
            if kind == "websocket.accept":
                self.accepted = True
            elif kind in ("websocket.close", "websocket.http.response.start"):
                self.closed = True
            await self._send(message)

    async def go_away(self) -> None:
        """Close the socket with 1001 and wake a pending ``receive``. A checkpoint."""
        self.going_away = True
        self._call_scope.deadline = trio.current_time() + ENDPOINT_GRACE
        if self._receive_scope is not None:
            self._receive_scope.cancel()
        async with self._lock:
            if self.accepted and not self.closed:
                self.closed = True
                await self._send(_GOING_AWAY_CLOSE)


class ServerShutdown:
    """App-wide: the open sockets and streams, and whether shutdown has begun."""

    def __init__(self) -> None:
        self.started = False
        self._stoppers: set[StreamStopper] = set()
        self._sockets: set[SocketGuard] = set()

    @contextmanager
    def open_stream_stopper(self) -> Iterator[StreamStopper]:
        """A stopper for one streaming response, stopped when shutdown begins."""
        stopper = StreamStopper(self.started)
        self._stoppers.add(stopper)
        try:
            yield stopper
        finally:
            self._stoppers.discard(stopper)

    @contextmanager
    def open_socket_guard(self, receive: Receive, send: Send) -> Iterator[SocketGuard]:
        """A guard for one WebSocket call, closed with 1001 when shutdown begins."""
        guard = SocketGuard(receive, send)
        self._sockets.add(guard)
        try:
            if self.started:
                guard.going_away = True
            yield guard
        finally:
            self._sockets.discard(guard)

    async def begin(self) -> None:
        """Stop every stream and close every socket with 1001. A checkpoint.

        Each close is bounded by :data:`CLOSE_GRACE` seconds, so one client
        that does not read cannot hold up the others or the server.
        """
        if self.started:
            return  # the trigger was wrapped twice: the first call did it all
        self.started = True
        for stopper in list(self._stoppers):
            stopper.stop()
        async with trio.open_nursery() as nursery:
            for guard in list(self._sockets):
                nursery.start_soon(_go_away_within_grace, guard)


async def _go_away_within_grace(guard: SocketGuard) -> None:
    with trio.move_on_after(CLOSE_GRACE):
        try:
            await guard.go_away()
        except (OSError, trio.BrokenResourceError, trio.ClosedResourceError):
            pass  # the client is already gone: nothing left to close
