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
    """``"client_disconnected"``, ``"deadline"`` or ``"shutdown"`` (anything else from outside).

    Read from the request's ``RequestContext`` at the moment the cancellation
    reaches the server span, before the request scope has handled it.
    """
    context = get_request_context(scope)
    if context is None:
        return "shutdown"
    if context.client_disconnected:
        return "client_disconnected"
    cancel_scope = context.request_cancel_scope
    if context.deadline_expired or (
        cancel_scope is not None and cancel_scope.deadline <= trio.current_time()
    ):
        return "deadline"
    return "shutdown"
