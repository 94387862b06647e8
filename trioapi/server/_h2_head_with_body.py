"""Fix ``h2-head-with-body``: an HTTP/2 response of known length sends its HEADERS with its first DATA.

hypercorn 0.17/0.18's HTTP/2 protocol flushes a response's HEADERS frame
the moment the app sends ``http.response.start``, and its send task flushes
the DATA frames after: two writes to the socket for a small response (with
fix ``h2-end-with-data``; three without), and two passes through Trio's
scheduler. The ASGI specification asks a server to hold the head until the
first body message.

:class:`HeadersWithData` leaves the HEADERS frame of a response with a
``content-length`` in h2's outgoing buffer (h2 has recorded it, as before)
without flushing: the next flush of the connection, normally the send task's
flush of the stream's first DATA frame (or, for an answer without a body
such as a ``HEAD`` answer, of its end), writes both at once, in order. Any
other event of that stream (its trailers; the stream closing, as when the
app fails after the start) and a first body that the flow-control window
holds back flush the HEADERS right away, so no head waits on anything but
its body (or its end). A streamed response (no length) and informational
responses are flushed at once, as before.
"""

from __future__ import annotations

from typing import Any

from hypercorn.protocol.events import Body, EndBody, Response
from hypercorn.protocol.h2 import H2Protocol

from trioapi.server._extend import extension_fix, init_sets

__all__ = ["FIX", "HeadersWithData"]


def _has_length(headers: Any) -> bool:
    return any(name.lower() == b"content-length" for name, _ in headers)


class HeadersWithData(H2Protocol):
    """hypercorn's ``H2Protocol`` writing a response's HEADERS with its first DATA frame."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._trioapi_skip_flush = False
        self._trioapi_held: set[int] = set()  # streams whose HEADERS wait in h2's buffer

    async def _flush(self) -> None:
        if self._trioapi_skip_flush:
            return
        # One buffer for the connection: any flush writes every held HEADERS frame.
        self._trioapi_held.clear()
        await super()._flush()

    async def stream_send(self, event: Any) -> None:
        held = self._trioapi_held
        if type(event) is Response and event.status_code >= 200 and _has_length(event.headers):
            self._trioapi_skip_flush = True
            try:
                await super().stream_send(event)
            finally:
                self._trioapi_skip_flush = False
            held.add(event.stream_id)
            return
        if event.stream_id in held and (
            type(event) is EndBody
            or (
                type(event) is Body
                and self.connection.local_flow_control_window(event.stream_id) > 0
            )
        ):
            pass  # the send task's flush of the first DATA frame (or of the end) writes it
        elif event.stream_id in held:
            await self._flush()
        await super().stream_send(event)


FIX = extension_fix(
    name="h2-head-with-body",
    changes="H2Protocol flushes the HEADERS of a response with a content-length together with "
    "its first DATA frame (one write, not two)",
    releases=("0.17", "0.18"),
    where="hypercorn.protocol:H2Protocol",
    extension=HeadersWithData,
    also_check=lambda: init_sets(H2Protocol, "connection"),
)
