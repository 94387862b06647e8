"""Reset an HTTP/2 stream whose response the app left unfinished, in hypercorn.

When an app call ends before its response's last body message (a deadline
that cuts a streaming response, an error or a cancellation mid-body),
hypercorn 0.17/0.18 closes an HTTP/1.1 connection, so the client sees the
response cut. Over HTTP/2 it only forgets the stream: no ``END_STREAM``, no
``RST_STREAM``, so the client waits on it for ever (or until its own
timeout), and a proxy may hold the connection's other streams behind it.

:func:`patch_unfinished_stream_reset` wraps ``H2Protocol.stream_send`` so
that, when the stream reports it is closed while the server has not ended
its side, the stream is reset with ``INTERNAL_ERROR`` first (what RFC 9113
§8.1 asks of a server that cannot complete a response). A response that
ended normally, or a stream the client reset, is left as it was. Applied
with the other fixes of :func:`trioapi._server.patch_hypercorn`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["patch_unfinished_stream_reset"]

_PATCH_MARK = "__trioapi_patched__"


def patch_unfinished_stream_reset() -> bool:
    """Make hypercorn's HTTP/2 protocol reset streams whose response was left unfinished (once).

    Returns:
        ``True`` if the change is in place, ``False`` if hypercorn's or h2's
        code has another shape (nothing is changed).
    """
    from h2.stream import StreamState
    from hypercorn.protocol import h2 as h2_protocol

    protocol_class: Any = getattr(h2_protocol, "H2Protocol", None)
    stream_send = getattr(protocol_class, "stream_send", None)
    names = ("StreamClosed", "EndBody", "EndData", "Trailers")
    events: list[Any] = [getattr(h2_protocol, name, None) for name in names]
    if stream_send is None or None in events or not hasattr(protocol_class, "_flush"):
        return False
    if getattr(stream_send, _PATCH_MARK, False):
        return True
    # The states in which this side has not sent END_STREAM yet.
    unfinished = (StreamState.OPEN, StreamState.HALF_CLOSED_REMOTE)
    closed, *ends = events
    protocol_class.stream_send = reset_unfinished_streams(
        stream_send, closed, tuple(ends), unfinished
    )
    return True


def reset_unfinished_streams(
    stream_send: Callable[[Any, Any], Awaitable[None]],
    closed_event: Any,
    end_events: tuple[Any, ...],
    unfinished: tuple[Any, ...],
) -> Callable[[Any, Any], Awaitable[None]]:
    """``H2Protocol.stream_send`` that resets a stream closed before its response ended.

    A response that ended (an end event was sent) may still be waiting for
    its ``END_STREAM`` in the send task: that stream is never reset.
    """
    from h2.errors import ErrorCodes

    async def stream_send_resetting_unfinished(self: Any, event: Any) -> None:
        ended: set[int] = self.__dict__.setdefault("_trioapi_ended_streams", set())
        if isinstance(event, end_events):
            ended.add(event.stream_id)
        elif isinstance(event, closed_event) and event.stream_id not in ended:
            stream = self.connection.streams.get(event.stream_id)
            state = getattr(getattr(stream, "state_machine", None), "state", None)
            if state in unfinished:
                self.connection.reset_stream(event.stream_id, error_code=ErrorCodes.INTERNAL_ERROR)
                await self._flush()
        if isinstance(event, closed_event):
            ended.discard(event.stream_id)
        await stream_send(self, event)

    stream_send_resetting_unfinished.__trioapi_patched__ = True  # type: ignore[attr-defined]
    return stream_send_resetting_unfinished
