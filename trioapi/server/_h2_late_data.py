"""Fix ``h2-late-data``: request body that arrives after its HTTP/2 stream was answered ends nothing.

When the app answers a request before its body is in (a form refused at its
1,001st field, a body over ``max_body_size``) while the client goes on
sending, hypercorn 0.17/0.18 forgets the stream once the response has ended,
and the next ``DATA`` frame for it raises ``KeyError`` in
``H2Protocol._handle_events``, which nothing catches: the error ends the
whole worker, with every connection on it. One HTTP/2 upload refused early
is enough.

:class:`DropLateData` keeps hypercorn's table of streams in a dictionary
that answers a forgotten stream's id with a sink: the frame's body is
dropped, and hypercorn goes on to acknowledge it (so the connection's
flow-control window does not run dry). The look-up happens when hypercorn
handles the frame, so a stream answered while earlier frames were handled
counts as forgotten too. (RFC 9113 §8.1 also lets the server reset such a
stream with ``NO_ERROR`` to stop the upload, but httpx then fails the
request instead of returning the answer.)
"""

from __future__ import annotations

from typing import Any

from hypercorn.protocol.h2 import H2Protocol

from trioapi.server._extend import extension_fix, init_sets

__all__ = ["FIX", "DropLateData"]


class _Forgotten:
    """Stands for a stream hypercorn has forgotten: what it is handed is dropped."""

    async def handle(self, event: object) -> None:
        """Drop ``event``. Not a checkpoint."""


_FORGOTTEN = _Forgotten()


class _StreamTable(dict[int, Any]):
    """hypercorn's ``streams``, with the sink for ids it no longer holds."""

    def __missing__(self, stream_id: int) -> _Forgotten:
        return _FORGOTTEN


class DropLateData(H2Protocol):
    """hypercorn's ``H2Protocol`` that drops body frames of the streams it has forgotten."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.streams = _StreamTable(self.streams)


FIX = extension_fix(
    name="h2-late-data",
    changes="H2Protocol drops request body of a stream it has answered and forgotten, "
    "instead of ending the worker with KeyError",
    releases=("0.17", "0.18"),
    where="hypercorn.protocol:H2Protocol",
    extension=DropLateData,
    also_check=lambda: init_sets(H2Protocol, "connection", "streams"),
)
