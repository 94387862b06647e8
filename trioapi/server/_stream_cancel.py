"""Fix ``h2-stream-cancel``: end an HTTP/2 stream from outside its request's task.

At hypercorn's hard cancel a request waiting on a worker thread cannot be
cancelled, and over HTTP/2 no answer can be sent for it either: hypercorn
sends body frames from a task of the connection that the hard cancel has
ended. Its client would wait for the thread. :func:`cancel_http2_stream`
resets the stream (``RST_STREAM`` with ``CANCEL``; the frame goes out at
once, through the connection's socket), so the client sees the request cut,
as it sees async work cut at that moment. The app's watchdog calls it
(``ResponseTracker.answer_shutdown``); HTTP/1.1 requests get a 503 instead.

Like ``response-start-repair`` this fix changes nothing in hypercorn when
applied: it switches the function on. This module imports no hypercorn
until then.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from typing import Any

from trioapi.server._registry import HypercornFix

__all__ = ["FIX", "can_cancel_http2_stream", "cancel_http2_stream"]

_classes: tuple[type, type] | None = None
"""hypercorn's ``HTTPStream`` and ``H2Protocol`` once the fix is applied; ``None``: off."""


def _stream_and_protocol(send: Callable[..., Awaitable[None]]) -> tuple[Any, Any] | None:
    """hypercorn's ``HTTPStream`` whose ``app_send`` is ``send``, and its ``H2Protocol``."""
    if _classes is None:
        return None
    stream_class, protocol_class = _classes
    stream: Any = getattr(send, "__self__", None)
    if not isinstance(stream, stream_class):
        return None
    protocol = getattr(getattr(stream, "send", None), "__self__", None)
    return (stream, protocol) if isinstance(protocol, protocol_class) else None


def can_cancel_http2_stream(send: Callable[..., Awaitable[None]]) -> bool:
    """Whether :func:`cancel_http2_stream` can reset the stream of ``send`` (hypercorn's, HTTP/2)."""
    return _stream_and_protocol(send) is not None


async def cancel_http2_stream(send: Callable[..., Awaitable[None]]) -> bool:
    """Reset, with ``CANCEL``, the HTTP/2 stream that ``send`` (hypercorn's) answers on.

    A checkpoint when it resets. ``False`` (nothing done) when the fix is not
    applied, ``send`` is not hypercorn's HTTP/2 stream, or the stream has
    closed already.
    """
    found = _stream_and_protocol(send)
    if found is None:
        return False
    from h2.errors import ErrorCodes
    from h2.exceptions import ProtocolError

    stream, protocol = found
    try:
        protocol.connection.reset_stream(stream.stream_id, error_code=ErrorCodes.CANCEL)
    except ProtocolError:
        return False  # closed already (h2's StreamClosedError is a ProtocolError)
    await protocol._flush()
    return True


def _check_shape() -> str | None:
    from trioapi.server._extend import init_sets

    stream_class = getattr(
        importlib.import_module("hypercorn.protocol.http_stream"), "HTTPStream", None
    )
    protocol_class = getattr(importlib.import_module("hypercorn.protocol.h2"), "H2Protocol", None)
    if not isinstance(stream_class, type) or not isinstance(protocol_class, type):
        return "hypercorn.protocol has no HTTPStream and H2Protocol"
    if not callable(getattr(protocol_class, "_flush", None)):
        return "H2Protocol has no _flush"
    return init_sets(stream_class, "send", "stream_id") or init_sets(protocol_class, "connection")


def _install() -> None:
    global _classes
    _classes = (
        importlib.import_module("hypercorn.protocol.http_stream").HTTPStream,
        importlib.import_module("hypercorn.protocol.h2").H2Protocol,
    )


FIX = HypercornFix(
    name="h2-stream-cancel",
    changes="an HTTP/2 stream still waiting on a worker thread at the hard cancel is reset "
    "(CANCEL), so its client does not wait for the thread",
    releases=("0.17", "0.18"),
    check_shape=_check_shape,
    install=_install,
)
