"""Why a request was cancelled, for the server span's ``trioapi.request.cancelled``."""

from __future__ import annotations

import trio

from trioapi._scopes import get_request_context
from trioapi.types import Scope


def is_cancellation(error: BaseException) -> bool:
    """Whether ``error`` is Trio's cancellation (alone, or a group of nothing else)."""
    if isinstance(error, BaseExceptionGroup):
        return error.split(trio.Cancelled)[1] is None
    return isinstance(error, trio.Cancelled)


def cancel_reason(scope: Scope) -> str:
    """Why the request was cancelled: a ``CancelReason`` value.

    ``"disconnect"`` (the client went away), ``"deadline"``, ``"send_timeout"``,
    ``"invalid_response"`` or ``"shutdown"`` (cancelled from outside the
    request), as the request's ``RequestContext`` recorded it; read when the
    cancellation reaches the server span.
    """
    context = get_request_context(scope)
    if context is None:
        return "shutdown"
    return str(context.why_cancelled())
