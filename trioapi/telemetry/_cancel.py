"""Why a request was cancelled, for the server span's ``trioapi.request.cancelled``."""

from __future__ import annotations

from trioapi._exception_groups import is_cancellation
from trioapi._request_state import CancelReason
from trioapi._scopes import get_request_context
from trioapi.types import Scope

__all__ = ["cancel_reason", "is_cancellation"]


def cancel_reason(scope: Scope) -> str:
    """``"client_disconnected"``, ``"deadline"``, ``"send_timeout"`` or ``"shutdown"``.

    Read from the request's ``RequestContext`` at the moment the cancellation
    reaches the server span (``RequestContext.why_cancelled``); a request the
    app sent an invalid response for counts as ``"invalid_response"``, one
    cancelled from outside as ``"shutdown"``.
    """
    context = get_request_context(scope)
    if context is None:
        return CancelReason.SHUTDOWN.value
    reason = context.why_cancelled()
    if reason is CancelReason.DISCONNECT:
        return "client_disconnected"
    return reason.value
