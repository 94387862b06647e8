"""Fix ``send-eof-lock``: a send race that ends hypercorn's trio worker.

hypercorn 0.17/0.18's trio ``TCPServer`` serialises ``send_all`` calls with a
``trio.Lock`` (``send_lock``) but its ``_close()`` calls ``stream.send_eof()``
without taking that lock. Trio's ``SocketStream.send_eof()`` holds the
stream's send conflict detector across a checkpoint, so a task that already
holds ``send_lock`` and enters ``send_all()`` during that checkpoint gets
``trio.BusyResourceError``. ``protocol_send`` does not catch it; when the
sender is the HTTP/2 send task or the connection's read task (sending a 400
for a malformed HTTP/1.1 body), the error escapes the connection's nursery
and ends the whole worker. See ``docs/hypercorn-bug-report.md``.

:class:`SendEOFUnderLock` sends EOF only while holding ``send_lock``; if
another task holds the lock, it skips the EOF (as the original did after
catching ``BusyResourceError``) and closes the stream, which makes that
task's ``send_all`` fail with ``ClosedResourceError``, an error hypercorn
handles.
"""

from __future__ import annotations

import trio
from hypercorn.trio.tcp_server import TCPServer

from trioapi.server._extend import extension_fix, init_sets

__all__ = ["FIX", "SendEOFUnderLock"]

# Errors send_eof() raises when the peer or another task already closed the
# stream; AttributeError: an SSL stream has no send_eof().
_EOF_ERRORS = (
    trio.BrokenResourceError,
    trio.ClosedResourceError,
    trio.BusyResourceError,
    AttributeError,
)


class SendEOFUnderLock(TCPServer):
    """hypercorn's ``TCPServer`` whose ``_close`` never lets ``send_eof`` overlap a ``send_all``."""

    async def _close(self) -> None:
        lock = self.send_lock
        try:
            if not lock.locked():
                # Otherwise another task is sending (or holds the lock to
                # send): closing the stream below interrupts it with
                # ClosedResourceError, which protocol_send handles. Sending
                # EOF first would race with it.
                lock.acquire_nowait()
                try:
                    await self.stream.send_eof()
                except _EOF_ERRORS:
                    pass
                finally:
                    lock.release()
        finally:
            # Always release the socket, even if cancelled at send_eof's checkpoint.
            await self.stream.aclose()


FIX = extension_fix(
    name="send-eof-lock",
    changes="TCPServer._close sends EOF only while holding send_lock, so it cannot race a send",
    releases=("0.17", "0.18"),
    where="hypercorn.trio.run:TCPServer",
    extension=SendEOFUnderLock,
    needs=("protocol_send",),
    also_check=lambda: init_sets(TCPServer, "send_lock", "stream"),
)
