"""Fix ``h11-head-with-body``: an HTTP/1.1 response of known length goes out with its body in one write.

hypercorn 0.17/0.18's HTTP/1.1 protocol writes a response's head the moment
the app sends ``http.response.start`` and its body with the first
``http.response.body``: two writes to the socket, two passes through Trio's
scheduler, and over a network two packets for a small response. The ASGI
specification asks a server to hold the head until the first body message
("the protocol server must not start sending the response to the client
until it has received at least one Response Body event").

:class:`HeadWithBody` holds the head's bytes (h11 has recorded the response
as before) and writes them together with the next bytes the connection
sends: the first body, or the end of the response (a ``HEAD`` answer, a 204).
Anything else the protocol tells the connection (the response is over, the
connection closes) writes the held head first, so no head is ever lost or
reordered. Only a response whose head says its ``Content-Length`` is held:
the app knows its body, which follows at once. A streamed response (no
length, chunked) and every informational response go out at once, as
before, so a client of a slow stream sees its head without waiting for the
first chunk.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from hypercorn.events import RawData
from hypercorn.protocol.events import Response
from hypercorn.protocol.h11 import H11Protocol

from trioapi.server._extend import extension_fix, init_sets

__all__ = ["FIX", "HeadWithBody"]


def _has_length(headers: Any) -> bool:
    return any(name.lower() == b"content-length" for name, _ in headers)


class HeadWithBody(H11Protocol):
    """hypercorn's ``H11Protocol`` writing a response's head with its first body bytes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._trioapi_write: Callable[[Any], Awaitable[None]] = self.send
        self._trioapi_holding = False
        self._trioapi_head: bytes | None = None
        self.send = self._trioapi_send

    async def stream_send(self, event: Any) -> None:
        if type(event) is Response and event.status_code >= 200 and _has_length(event.headers):
            self._trioapi_holding = True
            try:
                await super().stream_send(event)
            finally:
                self._trioapi_holding = False
            return
        await super().stream_send(event)

    async def _trioapi_send(self, event: Any) -> None:
        """The connection's send: holds a head of known length, writes it with what follows."""
        if self._trioapi_holding and type(event) is RawData and self._trioapi_head is None:
            self._trioapi_head = event.data
            return
        head, self._trioapi_head = self._trioapi_head, None
        if head is not None:
            if type(event) is RawData:
                event = RawData(data=head + event.data)
            else:
                await self._trioapi_write(RawData(data=head))
        await self._trioapi_write(event)


FIX = extension_fix(
    name="h11-head-with-body",
    changes="H11Protocol writes the head of a response with a Content-Length together with "
    "its first body bytes (one write, not two)",
    releases=("0.17", "0.18"),
    where="hypercorn.protocol:H11Protocol",
    extension=HeadWithBody,
    needs=("_send_h11_event",),
    also_check=lambda: init_sets(H11Protocol, "send"),
)
