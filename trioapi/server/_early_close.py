"""Fix ``early-answer-close``: an HTTP/1.1 answer sent before the request body is in says ``Connection: close``.

When the app answers before the client has sent its whole body (a form
refused at its 1,001st field), hypercorn 0.17/0.18 cannot reuse the
connection (h11 is still reading the old body) and closes it after the
response, but the response does not say so. A client that reads the answer
before it sees the connection close takes the connection for kept-alive,
sends its next request on it, and loses that request to the close ("Server
disconnected without sending a response").

:class:`CloseAfterEarlyAnswer` adds ``Connection: close`` to such a
response's head, so the client knows; with fix ``lingering-close`` the
client then also reads the whole answer before the socket closes.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import h11
from hypercorn.protocol.events import Response
from hypercorn.protocol.h11 import H11Protocol

from trioapi.server._extend import extension_fix, init_sets

__all__ = ["FIX", "CloseAfterEarlyAnswer"]


class CloseAfterEarlyAnswer(H11Protocol):
    """hypercorn's ``H11Protocol`` that says ``Connection: close`` on an answer the body has not reached."""

    async def stream_send(self, event: Any) -> None:
        if (
            isinstance(event, Response)
            and event.status_code >= 200
            # A WebSocket handshake's connection (H11WSConnection) has no state.
            and getattr(self.connection, "their_state", None) is h11.SEND_BODY
            and not any(name.lower() == b"connection" for name, _ in event.headers)
        ):
            event = replace(event, headers=[*event.headers, (b"connection", b"close")])
        await super().stream_send(event)


FIX = extension_fix(
    name="early-answer-close",
    changes="H11Protocol says Connection: close on an answer sent before the request body "
    "is in (hypercorn closes that connection after it)",
    releases=("0.17", "0.18"),
    where="hypercorn.protocol:H11Protocol",
    extension=CloseAfterEarlyAnswer,
    also_check=lambda: init_sets(H11Protocol, "connection"),
)
