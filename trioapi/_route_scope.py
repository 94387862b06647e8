"""A route's own request-scope settings, applied when the request reaches it.

Routers and routes may replace the app's deadline, disconnect policy, body
limits (size, read deadline, minimum rate), form limits and send timeout;
the innermost setting wins. The route applies them just before its endpoint
runs, which is before the body is read: the receive pump reads the body
limits from the request context lazily, on each read, ``Request.form()``
reads the form limits when it parses, and each response message reads the
send timeout. A middleware that reads the body (or sends) before routing does so
under the app's limits.
"""

from __future__ import annotations

from typing import Any

from trioapi._scopes import form_limits, get_request_context
from trioapi.types import Scope

__all__ = ["NOT_GIVEN", "SCOPE_SETTING_NAMES", "RouteScopeSettings"]

NOT_GIVEN: Any = object()
"""A setting the route leaves to its router or the app (``None`` means "no limit")."""

SCOPE_SETTING_NAMES = (
    "timeout",
    "max_body_size",
    "body_timeout",
    "min_body_rate",
    "send_timeout",
    "max_form_files",
    "max_form_fields",
    "max_form_part_size",
    "max_form_header_count",
    "max_form_header_size",
)
"""The settings given as a value or ``NOT_GIVEN`` (``cancel_on_disconnect`` uses ``None``)."""

# In the order of the request context's form_limits tuple.
_FORM_NAMES = (
    "max_form_files",
    "max_form_fields",
    "max_form_part_size",
    "max_form_header_count",
    "max_form_header_size",
)


class RouteScopeSettings:
    """A route's ``timeout=``, ``cancel_on_disconnect=``, body, form and send limits.

    Each one given replaces the app's for the rest of the request. The route's
    timeout still counts from the start of the request; its body timeout
    counts from the first read of the body; its send timeout bounds each
    response message.
    """

    __slots__ = ("cancel_on_disconnect", "form", *SCOPE_SETTING_NAMES)

    timeout: Any
    max_body_size: Any
    body_timeout: Any
    min_body_rate: Any
    send_timeout: Any
    max_form_files: Any
    max_form_fields: Any
    max_form_part_size: Any
    max_form_header_count: Any
    max_form_header_size: Any

    def __init__(self, *, cancel_on_disconnect: bool | None = None, **given: Any) -> None:
        self.cancel_on_disconnect = cancel_on_disconnect
        for name in SCOPE_SETTING_NAMES:
            setattr(self, name, given.get(name, NOT_GIVEN))
        # The form limits are replaced together, as one tuple on the context.
        self.form = any(given.get(name, NOT_GIVEN) is not NOT_GIVEN for name in _FORM_NAMES)

    @classmethod
    def build(
        cls, *, cancel_on_disconnect: bool | None = None, **given: Any
    ) -> RouteScopeSettings | None:
        """The settings to apply, or ``None`` when the route gives none (nothing to do per request).

        Args:
            cancel_on_disconnect: ``None`` leaves it to the router or the app.
            **given: The values of :data:`SCOPE_SETTING_NAMES`, each a value
                (``None``: no limit) or ``NOT_GIVEN``.

        Raises:
            TypeError: a keyword is not one of the settings.
        """
        unknown = set(given) - set(SCOPE_SETTING_NAMES)
        if unknown:
            raise TypeError(f"Unknown request-scope settings: {sorted(unknown)}")
        if cancel_on_disconnect is None and all(value is NOT_GIVEN for value in given.values()):
            return None
        return cls(cancel_on_disconnect=cancel_on_disconnect, **given)

    def apply(self, scope: Scope) -> None:
        """Set the request's deadline, disconnect policy and limits from this route's."""
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
        if self.min_body_rate is not NOT_GIVEN:
            context.min_body_rate = self.min_body_rate
        if self.send_timeout is not NOT_GIVEN:
            context.send_timeout = self.send_timeout
        if self.form:
            context.form_limits = form_limits(
                *(
                    current if given is NOT_GIVEN else given
                    for current, given in zip(
                        context.form_limits,
                        (getattr(self, name) for name in _FORM_NAMES),
                        strict=True,
                    )
                )
            )
