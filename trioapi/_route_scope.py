"""A route's own request-scope settings, applied when the request reaches it.

Routers and routes may replace the app's deadline, disconnect policy and body
limits; the innermost setting wins. The route applies them just before its
endpoint runs, which is before the body is read: the receive pump reads the
body size limit and the body-read timeout from the request context lazily, on
the first read. A middleware that reads the body before routing reads it
under the app's limits.
"""

from __future__ import annotations

from typing import Any

from trioapi._scopes import get_request_context
from trioapi.types import Scope

__all__ = ["NOT_GIVEN", "RouteScopeSettings"]

NOT_GIVEN: Any = object()
"""A setting the route leaves to its router or the app (``None`` means "no limit")."""


class RouteScopeSettings:
    """A route's ``timeout=``, ``cancel_on_disconnect=``, ``max_body_size=`` and ``body_timeout=``.

    Each one given replaces the app's for the rest of the request. The route's
    timeout still counts from the start of the request; its body timeout
    counts from the first read of the body.
    """

    __slots__ = ("body_timeout", "cancel_on_disconnect", "max_body_size", "timeout")

    def __init__(
        self,
        *,
        timeout: Any = NOT_GIVEN,
        cancel_on_disconnect: bool | None = None,
        max_body_size: Any = NOT_GIVEN,
        body_timeout: Any = NOT_GIVEN,
    ) -> None:
        self.timeout: float | None = timeout
        self.cancel_on_disconnect = cancel_on_disconnect
        self.max_body_size: int | None = max_body_size
        self.body_timeout: float | None = body_timeout

    @classmethod
    def build(
        cls,
        *,
        timeout: Any = NOT_GIVEN,
        cancel_on_disconnect: bool | None = None,
        max_body_size: Any = NOT_GIVEN,
        body_timeout: Any = NOT_GIVEN,
    ) -> RouteScopeSettings | None:
        """The settings to apply, or ``None`` when the route gives none (nothing to do per request)."""
        if (
            timeout is NOT_GIVEN
            and cancel_on_disconnect is None
            and max_body_size is NOT_GIVEN
            and body_timeout is NOT_GIVEN
        ):
            return None
        return cls(
            timeout=timeout,
            cancel_on_disconnect=cancel_on_disconnect,
            max_body_size=max_body_size,
            body_timeout=body_timeout,
        )

    def apply(self, scope: Scope) -> None:
        """Set the request's deadline, disconnect policy and body limits from this route's."""
        context = get_request_context(scope)
        if context is None or scope["type"] != "http":
            return
        if self.timeout is not NOT_GIVEN:
            context.set_timeout(self.timeout)
        if self.cancel_on_disconnect is not None:
            context.set_cancel_on_disconnect(self.cancel_on_disconnect)
        if self.max_body_size is not NOT_GIVEN:
            context.max_body_size = self.max_body_size
        if self.body_timeout is not NOT_GIVEN:
            context.body_timeout = self.body_timeout
