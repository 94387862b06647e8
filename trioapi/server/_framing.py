"""Fix ``ambiguous-framing``: refuse HTTP/1.1 requests with both ``Content-Length`` and ``Transfer-Encoding``.

h11 (under hypercorn 0.17/0.18) accepts such a request and lets
``Transfer-Encoding: chunked`` decide where the body ends (RFC 9112 §6.3 allows
that, but then the connection must close after the response). A proxy in
front that reads ``Content-Length`` instead sees a different body, and bytes
it took for body are parsed here as the next request on the connection:
request smuggling. Hypercorn keeps such a connection open, so the hidden
request runs.

The application alone cannot close the connection in time: when its answer
says ``Connection: close`` while hypercorn's connection task still holds the
bytes after the body, that task finds them unexpected and closes the socket,
sometimes before the answer is written. So the refusal happens where the
request is parsed: :class:`RefuseAmbiguousFraming` gives such a request
hypercorn's own error answer (400, ``Connection: close``), written by the
connection task itself before it closes the connection; no stream, no app
call. (The test client has no wire framing: a test that sends both headers
reaches the app.)
"""

from __future__ import annotations

import logging
from typing import Any

import h11
from hypercorn.events import Closed
from hypercorn.protocol.h11 import H11Protocol

from trioapi.server._extend import extension_fix

__all__ = ["FIX", "RefuseAmbiguousFraming", "has_ambiguous_framing"]

logger = logging.getLogger("trioapi.server")


def has_ambiguous_framing(headers: Any) -> bool:
    """Whether h11 request headers have both ``Content-Length`` and ``Transfer-Encoding``."""
    names = {name.lower() for name, _ in headers}
    return b"content-length" in names and b"transfer-encoding" in names


class RefuseAmbiguousFraming(H11Protocol):
    """hypercorn's ``H11Protocol`` answering 400 and closing for an ambiguously framed request."""

    async def _create_stream(self, request: h11.Request) -> None:
        if not has_ambiguous_framing(request.headers):
            await super()._create_stream(request)
            return
        logger.info(
            "Refused %s %r from %s: both Content-Length and Transfer-Encoding; connection closed",
            request.method.decode("ascii", "replace"),
            request.target[:200],
            self.client,
        )
        # Hypercorn's own answer to a request it cannot parse: 400 with
        # Connection: close and no body. With no stream, its event loop stops
        # at the body's events, and Closed ends the connection.
        await self._send_error_response(400)
        await self.send(Closed())


FIX = extension_fix(
    name="ambiguous-framing",
    changes="H11Protocol answers 400 and closes a request with both Content-Length and "
    "Transfer-Encoding (request smuggling)",
    releases=("0.17", "0.18"),
    where="hypercorn.protocol:H11Protocol",
    extension=RefuseAmbiguousFraming,
    needs=("_send_error_response",),
)
