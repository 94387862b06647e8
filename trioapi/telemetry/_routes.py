"""``http.route``: the template of the route that answered a request, mount prefixes included.

Worked out after routing, by matching the request's path again from the
app's router down: a mount contributes its own template (``/tenants/{tenant}``,
never the concrete ``/tenants/acme``), a path that only a route of another
method matches (405) and a path a slash redirect fixes (307) are named by
that route's template, and an app mounted without routes (static files)
ends in ``{path}``.
"""

from __future__ import annotations

from typing import Any

from trioapi._routing.paths import get_route_path
from trioapi.routing import Match, Mount
from trioapi.types import Scope


def _router_of(app: Any) -> Any:
    return getattr(app, "router", app)


def _toggled(scope: Scope) -> Scope:
    path: str = scope["path"]
    return {**scope, "path": path.rstrip("/") if path.endswith("/") else path + "/"}


def _match(router: Any, scope: Scope, prefix: str) -> str | None:
    partial: str | None = None
    for route in getattr(router, "routes", ()):
        match, child_scope = route.matches(scope)
        if match == Match.FULL:
            if isinstance(route, Mount):
                inner = {**scope, **child_scope}
                mounted = _router_of(getattr(route, "_base_app", route.app))
                mount_prefix = prefix + route.path
                if not getattr(mounted, "routes", None):
                    return mount_prefix + "/{path}"
                return _template(mounted, inner, mount_prefix)
            # A route serving a whole subtree (a frontend) names it by its template.
            return prefix + str(
                getattr(route, "http_route_template", None) or getattr(route, "path", "")
            )
        if match == Match.PARTIAL and partial is None:
            partial = prefix + str(getattr(route, "path", ""))
    return partial


def _template(router: Any, scope: Scope, prefix: str) -> str | None:
    found = _match(router, scope, prefix)
    if found is not None:
        return found
    if (
        getattr(router, "redirect_slashes", False)
        and scope["type"] == "http"
        and get_route_path(scope) not in ("", "/")
    ):
        return _match(router, _toggled(scope), prefix)
    return None


def route_template(app: Any, scope: Scope) -> str | None:
    """The ``http.route`` of ``scope`` as ``app`` routes it, or ``None`` when nothing matches.

    Args:
        app: The application (or router) the request entered.
        scope: A copy of the request's scope as it entered ``app``.
    """
    return _template(_router_of(app), scope, str(scope.get("root_path", "")).rstrip("/"))
