"""Fix ``direct-send``: a write that fits in the socket's buffer goes out with one system call.

hypercorn 0.17/0.18's trio ``TCPServer.protocol_send`` writes each chunk of
bytes under its ``send_lock`` (a ``trio.Lock``) inside a shielded cancel
scope, with ``SocketStream.send_all``. For the small writes of a small
response (a response head, a body, over HTTP/2 a frame or two) that is two
passes through Trio's scheduler (the lock's acquire and the socket send each
yield), a cancel scope, and ``send_all``'s conflict detector, error
translation and memoryview bookkeeping: together several times the cost of
the ``send()`` system call itself, two to three times per request
(``bench/worker_cost.py``, ``docs/hypercorn-trio-throughput.md``).

:class:`DirectSend` writes such a chunk itself when nobody else is sending
(the lock is free): after the same cancellation check as the lock's acquire,
one non-blocking ``send()`` on the socket, then one checkpoint that cannot
be cancelled (as a socket send that did not wait ends with). What the
kernel did not take, and every error, takes hypercorn's own path under the
lock, so partial writes, back-pressure and a closed or reset socket are
handled exactly as before. TLS streams are left alone.
"""

from __future__ import annotations

import socket
from typing import Any

import trio
from hypercorn.events import Closed, RawData
from hypercorn.trio.tcp_server import TCPServer

from trioapi.server._extend import extension_fix, init_sets

__all__ = ["FIX", "DirectSend"]


class DirectSend(TCPServer):
    """hypercorn's ``TCPServer`` that writes a chunk the socket takes at once without the lock's yield."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        stream: Any = self.stream
        # A plain TCP connection's socket; None (hypercorn's path) for TLS.
        raw = getattr(getattr(stream, "socket", None), "_sock", None)
        plain = type(stream) is trio.SocketStream and isinstance(raw, socket.socket)
        self._trioapi_raw: socket.socket | None = raw if plain else None

    async def protocol_send(self, event: Any) -> None:
        raw = self._trioapi_raw
        if raw is None or type(event) is not RawData or self.send_lock.locked():
            await super().protocol_send(event)
            return
        data = event.data
        # hypercorn's lock acquire raises a pending cancellation before it sends.
        await trio.lowlevel.checkpoint_if_cancelled()
        if not data or self.send_lock.locked():
            await super().protocol_send(event)
            return
        try:
            sent = raw.send(data)
        except BlockingIOError:
            sent = 0
        except OSError:
            # Reset, closed, or shut down for writing: hypercorn's send_all
            # raises the error it handles (and tells the protocol).
            await super().protocol_send(event)
            return
        if sent < len(data):
            # Nothing awaited since the lock was seen free: take it without a wait.
            await self._trioapi_send_rest(memoryview(data)[sent:])
            return
        # A socket send that did not wait ends with this checkpoint too.
        await trio.lowlevel.cancel_shielded_checkpoint()

    async def _trioapi_send_rest(self, rest: memoryview) -> None:
        """What the kernel did not take, as hypercorn sends it: under the lock, shielded."""
        self.send_lock.acquire_nowait()
        try:
            try:
                with trio.CancelScope(shield=True):
                    await self.stream.send_all(rest)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                await self.protocol.handle(Closed())
        finally:
            self.send_lock.release()


FIX = extension_fix(
    name="direct-send",
    changes="TCPServer.protocol_send writes a chunk the socket takes at once with one send(), "
    "without the lock's and send_all's extra passes through the scheduler",
    releases=("0.17", "0.18"),
    where="hypercorn.trio.run:TCPServer",
    extension=DirectSend,
    also_check=lambda: init_sets(TCPServer, "send_lock", "stream"),
)
