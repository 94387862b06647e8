"""Refuse HTTP/1.1 requests with both ``Content-Length`` and ``Transfer-Encoding`` in hypercorn.

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
request is parsed: :func:`patch_ambiguous_framing` wraps
``H11Protocol._create_stream`` so that such a request gets hypercorn's own
error answer (400, ``Connection: close``), written by the connection task
itself before it closes the connection; no stream, no app call. Applied with
the other fixes of :func:`trioapi._server.patch_hypercorn`. (The test client
has no wire framing: a test that sends both headers reaches the app.)
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["has_ambiguous_framing", "patch_ambiguous_framing"]

logger = logging.getLogger("trioapi")

_PATCH_MARK = "__trioapi_patched__"


def has_ambiguous_framing(headers: Any) -> bool:
    """Whether h11 request headers have both ``Content-Length`` and ``Transfer-Encoding``."""
    names = {name.lower() for name, _ in headers}
    return b"content-length" in names and b"transfer-encoding" in names


def patch_ambiguous_framing() -> bool:
    """Make hypercorn's HTTP/1.1 protocol refuse ambiguously framed requests (once).

    Returns:
        ``True`` if the change is in place, ``False`` if hypercorn's code has
        another shape (nothing is changed).
    """
    from hypercorn.protocol import h11 as h11_protocol

    protocol_class: Any = getattr(h11_protocol, "H11Protocol", None)
    create_stream = getattr(protocol_class, "_create_stream", None)
    if create_stream is None:
        return False
    if getattr(create_stream, _PATCH_MARK, False):
        return True
    # Its answer to a request it cannot parse, which the refusal reuses.
    if not hasattr(protocol_class, "_send_error_response"):
        return False
    protocol_class._create_stream = refuse_ambiguous_framing(create_stream)
    return True


def refuse_ambiguous_framing(
    create_stream: Callable[[Any, Any], Awaitable[None]],
) -> Callable[[Any, Any], Awaitable[None]]:
    """``H11Protocol._create_stream`` that answers 400 and closes instead, for such a request."""
    from hypercorn.events import Closed

    async def create_stream_unless_ambiguous(self: Any, request: Any) -> None:
        if not has_ambiguous_framing(request.headers):
            await create_stream(self, request)
            return
        logger.info(
            "Refused %s %r from %s: both Content-Length and Transfer-Encoding; connection closed",
            request.method.decode("ascii", "replace"),
            request.target[:200],
            getattr(self, "client", None),
        )
        # Hypercorn's own answer to a request it cannot parse: 400 with
        # Connection: close and no body. With no stream, its event loop stops
        # at the body's events, and Closed ends the connection.
        await self._send_error_response(400)
        await self.send(Closed())

    create_stream_unless_ambiguous.__trioapi_patched__ = True  # type: ignore[attr-defined]
    return create_stream_unless_ambiguous
