"""Fix ``lingering-close``: a connection the server closes first keeps reading for a moment.

When the app answers before it has read the whole request body (a form
refused at its 1,001st field, a body over ``max_body_size``), the answer says
``Connection: close`` and hypercorn closes the socket while the client is
still sending. Closing a TCP socket with unread data makes the kernel send a
reset (RST) instead of a clean end, and a client that has not read the answer
yet loses it to the reset: it sees "connection reset" instead of the 400.

:class:`LingeringClose` closes as web servers do (Apache's and nginx's
*lingering close*), on HTTP/1.1 connections: it sends its end of the stream
(FIN) at once, then lets the connection's read loop go on reading, and
dropping, what the client still sends, until the client closes its side or
:data:`LINGER_TIMEOUT` passes; only then is the socket closed. A client that
has finished sending closes at once, so the wait is usually nothing. The
read loop stays the only reader (two readers of one trio stream is an error
that would end the worker). HTTP/2 connections close as before: an early
answer there ends one stream, not the connection.
"""

from __future__ import annotations

import math
from typing import Any

import trio
from hypercorn.events import Closed
from hypercorn.protocol.h11 import H11Protocol
from hypercorn.trio.tcp_server import TCPServer

from trioapi.server._extend import extension_fix, init_sets

__all__ = ["FIX", "LINGER_TIMEOUT", "LingeringClose"]

LINGER_TIMEOUT = 2.0
"""Seconds a closing connection goes on reading what the client still sends (Apache: 2 s)."""

# send_eof() errors when the peer or another task already closed the stream;
# AttributeError: an SSL stream has no send_eof() (the client reads the
# answer's Connection: close instead).
_CLOSED = (trio.BrokenResourceError, trio.ClosedResourceError, AttributeError)


class LingeringClose(TCPServer):
    """hypercorn's ``TCPServer`` that, on HTTP/1.1, reads on for a moment after its FIN.

    ``_close`` sends the FIN and hands the close to the read loop, which
    drops what still comes until the client's end or :data:`LINGER_TIMEOUT`;
    the socket is then closed where hypercorn closes it when reading ends
    (``run``). It returns at once: it is called from inside the app's last
    send, which must not wait for the client.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._trioapi_reading: trio.CancelScope | None = None

    async def _read_data(self) -> None:
        with trio.CancelScope() as reading:
            self._trioapi_reading = reading
            await super()._read_data()
        self._trioapi_reading = None
        if reading.cancelled_caught:
            # Cut at the end of its linger: what hypercorn's loop says when it ends.
            await self.protocol.handle(Closed())

    async def _close(self) -> None:
        reading = self._trioapi_reading
        if reading is None or not isinstance(getattr(self.protocol, "protocol", None), H11Protocol):
            await super()._close()
            return
        if reading.deadline == math.inf:
            reading.deadline = trio.current_time() + LINGER_TIMEOUT
            await self._trioapi_send_fin()

    async def _trioapi_send_fin(self) -> None:
        # Only under send_lock: send_eof() racing a locked send_all() is the
        # crash that fix send-eof-lock is about. A task holding the lock is
        # still sending; the socket's close at the end of the linger follows it.
        lock = self.send_lock
        if lock.locked():
            return
        async with lock:
            try:
                await self.stream.send_eof()
            except _CLOSED:
                pass


FIX = extension_fix(
    name="lingering-close",
    changes="TCPServer closes a connection only once the client has stopped sending "
    f"(at most {LINGER_TIMEOUT:g} s after its FIN), so an early answer is not lost to a reset",
    releases=("0.17", "0.18"),
    where="hypercorn.trio.run:TCPServer",
    extension=LingeringClose,
    needs=("protocol_send",),
    also_check=lambda: init_sets(TCPServer, "send_lock", "stream"),
)
