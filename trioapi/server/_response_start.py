"""Fix ``response-start-repair``: a response start cut half-way by cancellation.

hypercorn's ``HTTPStream.app_send`` hands a response start to its protocol,
which records it at once (h11 and h2 change state before their first
checkpoint), and sets the stream's own state to RESPONSE only after the
send returns. A cancellation at one of the send's checkpoints (the app's
deadline, a disconnect) leaves the stream in state REQUEST with the
protocol past the start; when the app returns, hypercorn answers 500 on
top of it, and over HTTP/1.1 h11 refuses that with LocalProtocolError, which
ends the whole worker. The app's send tracker (``trioapi._response_tracker``)
calls :func:`repair_cut_response_start` when a start's send was cancelled, so
the stream's state says what its protocol did; hypercorn then ends the
stream (closes the connection) instead.

Unlike the other fixes this one changes nothing in hypercorn when applied:
it switches the repair on. This module imports no hypercorn until then.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from trioapi.server._registry import HypercornFix

__all__ = ["FIX", "repair_cut_response_start"]

HTTP_STREAM_MODULE = "hypercorn.protocol.http_stream"

logger = logging.getLogger("trioapi.server")

_stream_class: Any = None
"""hypercorn's ``HTTPStream`` once the fix is applied; ``None``: the repair is off."""


def repair_cut_response_start(send: Callable[..., Awaitable[None]]) -> bool:
    """Tell hypercorn's stream that the response start its ``send`` was cut in went out.

    Call it only when a send of ``http.response.start`` raised
    ``trio.Cancelled``. A no-op (``False``) when the fix is not applied or
    ``send`` is not hypercorn's ``HTTPStream.app_send``.
    """
    stream: Any = getattr(send, "__self__", None)
    if _stream_class is None or not isinstance(stream, _stream_class):
        return False
    states: Any = importlib.import_module(HTTP_STREAM_MODULE).ASGIHTTPState
    if stream.state is not states.REQUEST or getattr(stream, "response", None) is None:
        return False
    stream.state = states.RESPONSE
    logger.info("A response start was cancelled half-way; hypercorn's stream state repaired")
    return True


def _check_shape() -> str | None:
    module = importlib.import_module(HTTP_STREAM_MODULE)
    states = getattr(module, "ASGIHTTPState", None)
    if not all(hasattr(states, name) for name in ("REQUEST", "RESPONSE")):
        return "hypercorn.protocol.http_stream.ASGIHTTPState has no REQUEST and RESPONSE"
    stream_class = getattr(module, "HTTPStream", None)
    if not isinstance(stream_class, type) or not callable(getattr(stream_class, "app_send", None)):
        return "hypercorn.protocol.http_stream.HTTPStream has no app_send"
    from trioapi.server._extend import init_sets

    return init_sets(stream_class, "state")


def _install() -> None:
    global _stream_class
    _stream_class = importlib.import_module(HTTP_STREAM_MODULE).HTTPStream


FIX = HypercornFix(
    name="response-start-repair",
    changes="a response start cut by cancellation marks hypercorn's HTTPStream as responding, "
    "so it does not answer a second response",
    releases=("0.17", "0.18"),
    check_shape=_check_shape,
    install=_install,
)
