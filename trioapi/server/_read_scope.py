"""Fix ``read-without-scope``: no cancel scope per read when the server has no read timeout.

hypercorn 0.17/0.18's trio ``TCPServer._read_data`` enters
``trio.fail_after(self.config.read_timeout or inf)`` around every read of
the connection, also when no ``read_timeout`` is set (the default): a
generator-based context manager and a cancel scope with an infinite
deadline, entered and left once per read (once per small request), and
never able to fire.

:class:`ReadWithoutScope` reads in the same loop without that scope when
``read_timeout`` is unset; with a read timeout it is hypercorn's own
``_read_data``. The loop is the same: each chunk is handed to the protocol,
an empty read or a closed or broken stream ends it, and the protocol is told
``Closed``. It sits right above hypercorn's class (first in the catalog), so
the fixes that wrap ``_read_data`` (``idle-task``, ``lingering-close``)
still wrap it.
"""

from __future__ import annotations

import trio
from hypercorn.events import Closed, RawData
from hypercorn.trio import tcp_server
from hypercorn.trio.tcp_server import TCPServer

from trioapi.server._extend import extension_fix

__all__ = ["FIX", "ReadWithoutScope"]

# What hypercorn's _read_data uses: if it uses anything else it was rewritten.
_READ_DATA_NAMES = frozenset(
    {
        "BrokenResourceError", "Closed", "ClosedResourceError", "MAX_RECV", "RawData",
        "TooSlowError", "bytes", "config", "fail_after", "handle", "inf", "protocol",
        "read_timeout", "receive_some", "stream", "trio",
    }
)  # fmt: skip


class ReadWithoutScope(TCPServer):
    """hypercorn's ``TCPServer`` reading without a never-firing deadline scope per read."""

    async def _read_data(self) -> None:
        if self.config.read_timeout:
            await super()._read_data()
            return
        while True:
            try:
                data = await self.stream.receive_some(tcp_server.MAX_RECV)
            except (trio.ClosedResourceError, trio.BrokenResourceError):
                break
            await self.protocol.handle(RawData(bytes(data)))
            if data == b"":
                break
        await self.protocol.handle(Closed())


def _check_read_data() -> str | None:
    if frozenset(TCPServer._read_data.__code__.co_names) != _READ_DATA_NAMES:
        return "TCPServer._read_data is not the one this fix was written for"
    if not isinstance(getattr(tcp_server, "MAX_RECV", None), int):
        return "hypercorn.trio.tcp_server has no MAX_RECV"
    return None


FIX = extension_fix(
    name="read-without-scope",
    changes="TCPServer._read_data enters no fail_after(inf) scope per read when no "
    "read_timeout is set",
    releases=("0.17", "0.18"),
    where="hypercorn.trio.run:TCPServer",
    extension=ReadWithoutScope,
    also_check=_check_read_data,
)
