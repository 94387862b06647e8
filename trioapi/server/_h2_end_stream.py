"""Fix ``h2-end-with-data``: the last DATA frame of an HTTP/2 response carries its END_STREAM.

hypercorn 0.17/0.18's ``H2Protocol._send_data`` (its send task) writes a
stream's buffered body as a DATA frame and flushes it, then, when that
emptied a complete buffer, ends the stream with a second, empty DATA frame
flagged END_STREAM and flushes again: two writes to the socket, and two
frames to encode and for the client to decode, for every response with a
body.

:class:`EndStreamWithData` sends the body that completes a buffer as one
DATA frame flagged END_STREAM (RFC 9113 allows END_STREAM on any DATA
frame) and flushes once. Everything else (a buffer that is not complete
after the frame, an empty complete buffer, flow control, the errors that
close a stream) goes exactly as in hypercorn.
"""

from __future__ import annotations

import h2.exceptions
from hypercorn.protocol.h2 import H2Protocol, StreamBuffer

from trioapi.server._extend import extension_fix, init_sets

__all__ = ["FIX", "EndStreamWithData"]

# What hypercorn's _send_data uses: if it uses anything else it was rewritten.
_SEND_DATA_NAMES = frozenset(
    {
        "KeyError", "ProtocolError", "StreamClosedError", "_flush", "block", "close",
        "complete", "connection", "end_stream", "exceptions", "h2",
        "local_flow_control_window", "max", "max_outbound_frame_size", "min", "pop",
        "priority", "remove_stream", "send_data", "stream_buffers",
    }
)  # fmt: skip


class EndStreamWithData(H2Protocol):
    """hypercorn's ``H2Protocol`` ending a stream on its last DATA frame, in one write."""

    async def _send_data(self, stream_id: int) -> None:
        try:
            buffer = self.stream_buffers[stream_id]
            chunk_size = max(
                0,
                min(
                    self.connection.local_flow_control_window(stream_id),
                    self.connection.max_outbound_frame_size,
                ),
            )
            data = await buffer.pop(chunk_size)
            complete = buffer.complete
            if data:
                # A body that completes the buffer carries END_STREAM: one frame, one write.
                self.connection.send_data(stream_id, data, end_stream=complete)
            else:
                self.priority.block(stream_id)
                if not complete:
                    return
                self.connection.end_stream(stream_id)
            await self._flush()
            if complete:
                del self.stream_buffers[stream_id]
                self.priority.remove_stream(stream_id)
        except (h2.exceptions.StreamClosedError, KeyError, h2.exceptions.ProtocolError):
            # As hypercorn: the stream or the connection closed while the data waited.
            await self.stream_buffers[stream_id].close()
            del self.stream_buffers[stream_id]
            self.priority.remove_stream(stream_id)


def _check_send_data() -> str | None:
    """hypercorn's ``_send_data`` and its buffer are the ones this fix rewrites."""
    names = frozenset(H2Protocol._send_data.__code__.co_names)
    if names != _SEND_DATA_NAMES:
        return "H2Protocol._send_data is not the one this fix was written for"
    if not isinstance(getattr(StreamBuffer, "complete", None), property):
        return "StreamBuffer.complete is not a property"
    if not callable(getattr(StreamBuffer, "pop", None)):
        return "StreamBuffer has no pop"
    return init_sets(H2Protocol, "connection", "priority", "stream_buffers")


FIX = extension_fix(
    name="h2-end-with-data",
    changes="H2Protocol sends the last DATA frame of a response with END_STREAM, "
    "one frame and one write instead of two",
    releases=("0.17", "0.18"),
    where="hypercorn.protocol:H2Protocol",
    extension=EndStreamWithData,
    needs=("_flush",),
    also_check=_check_send_data,
)
