"""Fix ``skip-empty-write``: an empty chunk of bytes is not written.

hypercorn 0.17/0.18's HTTP/1.1 protocol hands every byte string h11 returns
to the connection's ``protocol_send``, and for the end of a
``Content-Length`` body h11 returns ``b""``: one empty write per request,
which costs what a real one costs in Trio (the send lock's acquire and the
socket send each pass through the scheduler) and writes nothing. Over
HTTP/2 hypercorn never sends empty bytes.

:class:`SkipEmptyWrite` answers an empty chunk with the cancellation check
the lock's acquire makes (a cancelled sender still raises ``Cancelled``)
and nothing else. The one other thing hypercorn's empty ``send_all`` does,
noticing a stream the server has closed itself, tells the protocol
``Closed`` a second time: it was told when the stream was closed.
"""

from __future__ import annotations

from typing import Any

import trio
from hypercorn.events import RawData
from hypercorn.trio.tcp_server import TCPServer

from trioapi.server._extend import extension_fix

__all__ = ["FIX", "SkipEmptyWrite"]


class SkipEmptyWrite(TCPServer):
    """hypercorn's ``TCPServer`` that does not write (or wait to write) an empty chunk."""

    async def protocol_send(self, event: Any) -> None:
        if type(event) is RawData and not event.data:
            await trio.lowlevel.checkpoint_if_cancelled()
            return
        await super().protocol_send(event)


FIX = extension_fix(
    name="skip-empty-write",
    changes="TCPServer.protocol_send does not write empty bytes (h11's end of a "
    "Content-Length body), which cost two passes through the scheduler",
    releases=("0.17", "0.18"),
    where="hypercorn.trio.run:TCPServer",
    extension=SkipEmptyWrite,
)
