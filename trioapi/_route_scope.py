"""A route's settings, applied when the request reaches it.

A request starts under its app's settings (``RequestContext.limits``, a
complete :class:`~trioapi._settings.Limits`). A route whose router, include
calls or own arguments give settings replaces them, just before its endpoint
runs and so before the body is read, with the app's merged with its own: the
receive pump reads the body limits from the context on each read,
``Request.form()`` the form limits when it parses, each response message the
send timeout, the body reader the JSON limits. A middleware that reads the
body (or sends) before routing does so under the app's settings.
"""

from __future__ import annotations

from trioapi._scopes import get_request_context
from trioapi._settings import DEFAULT_LIMITS, NOT_GIVEN, Limits
from trioapi.types import Scope

__all__ = ["NOT_GIVEN", "RouteLimits"]


class RouteLimits:
    """How one route's settings (router, include calls and route merged) meet the app's.

    The merge with the app's value is made once and kept: an app's value
    changes only when the app is reconfigured, so a request normally finds
    the merged value ready (one identity check).
    """

    __slots__ = ("_merged", "own", "standalone")

    def __init__(self, own: Limits) -> None:
        self.own = own
        # Served outside an app (no request context): the defaults, then the route's.
        self.standalone = DEFAULT_LIMITS.merge(own)
        # (the app's value, that value merged with the route's); one tuple so a
        # request in another thread's event loop sees a matching pair.
        self._merged = (DEFAULT_LIMITS, self.standalone)

    def apply(self, scope: Scope) -> None:
        """Run the rest of the request under the app's settings with the route's over them.

        Not a checkpoint. A changed ``timeout`` moves the request's deadline.
        """
        context = get_request_context(scope)
        if context is None:
            return
        app_limits = context.limits
        merged = self._merged
        if merged[0] is not app_limits:
            merged = self._merged = (app_limits, app_limits.merge(self.own))
        context.use_limits(merged[1])

    def current(self, scope: Scope) -> Limits:
        """The settings the request runs under now (after :meth:`apply`)."""
        context = get_request_context(scope)
        return self.standalone if context is None else context.limits
