"""Fix ``h2-reset``: reset an HTTP/2 stream whose response the app left unfinished.

When an app call ends before its response's last body message (a deadline
that cuts a streaming response, an error or a cancellation mid-body),
hypercorn 0.17/0.18 closes an HTTP/1.1 connection, so the client sees the
response cut. Over HTTP/2 it only forgets the stream: no ``END_STREAM``, no
``RST_STREAM``, so the client waits on it for ever (or until its own
timeout), and a proxy may hold the connection's other streams behind it.

:class:`ResetUnfinishedStreams` resets such a stream with ``INTERNAL_ERROR``
when it reports it is closed while the server has not ended its side (what
RFC 9113 §8.1 asks of a server that cannot complete a response). A response
that ended normally, or a stream the client reset, is left as it was.
"""

from __future__ import annotations

from typing import Any

from h2.errors import ErrorCodes
from h2.stream import StreamState
from hypercorn.protocol import h2 as h2_protocol
from hypercorn.protocol.events import EndBody, EndData, StreamClosed, Trailers
from hypercorn.protocol.h2 import H2Protocol

from trioapi.server._extend import extension_fix, init_sets

__all__ = ["FIX", "ResetUnfinishedStreams"]

# The events after which the server's side of a stream has ended.
_END_EVENTS = (EndBody, EndData, Trailers)
# The states in which this side has not sent END_STREAM yet.
_UNFINISHED = (StreamState.OPEN, StreamState.HALF_CLOSED_REMOTE)


class ResetUnfinishedStreams(H2Protocol):
    """hypercorn's ``H2Protocol`` resetting a stream closed before its response ended.

    A response that ended (an end event was sent) may still be waiting for
    its ``END_STREAM`` in the send task: that stream is never reset.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._trioapi_ended_streams: set[int] = set()

    async def stream_send(self, event: Any) -> None:
        ended = self._trioapi_ended_streams
        if isinstance(event, _END_EVENTS):
            ended.add(event.stream_id)
        elif isinstance(event, StreamClosed) and event.stream_id not in ended:
            stream = self.connection.streams.get(event.stream_id)
            state = getattr(getattr(stream, "state_machine", None), "state", None)
            if state in _UNFINISHED:
                self.connection.reset_stream(event.stream_id, error_code=ErrorCodes.INTERNAL_ERROR)
                await self._flush()
        if isinstance(event, StreamClosed):
            ended.discard(event.stream_id)
        await super().stream_send(event)


def _check_events() -> str | None:
    """hypercorn's h2 protocol still speaks of the events this fix watches."""
    for event in (StreamClosed, *_END_EVENTS):
        if getattr(h2_protocol, event.__name__, None) is not event:
            return f"hypercorn.protocol.h2 does not use {event.__name__} any more"
    return init_sets(H2Protocol, "connection")


FIX = extension_fix(
    name="h2-reset",
    changes="H2Protocol resets (INTERNAL_ERROR) a stream whose response the app left unfinished",
    releases=("0.17", "0.18"),
    where="hypercorn.protocol:H2Protocol",
    extension=ResetUnfinishedStreams,
    needs=("_flush",),
    also_check=_check_events,
)
