"""``Router``, and ``Mount``: a list of routes served as one app, and an app served under a prefix.

They build each other (``Router.mount`` adds a ``Mount``, ``Mount(routes=...)``
serves a ``Router``), so they live in one module; the other routes are in
``trioapi._routing.routes``.

A router dispatches a scope to the first route that matches it.

Full matches win; a path-only match (wrong method) is served when nothing
matches fully, so the route answers 405 with ``Allow``. When nothing matches,
``/path/`` and ``/path`` redirect to each other if that would match, and
otherwise the router answers 404.
"""

from __future__ import annotations

import contextlib
import inspect
import sys
import warnings
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from trioapi._lifespan import serve_lifespan
from trioapi._routing.paths import compile_path, get_route_path, has_utf8_path
from trioapi._routing.router_lifespan import to_lifespan
from trioapi._routing.routes import (
    BaseRoute,
    Host,
    Match,
    NoMatchFound,
    Route,
    WebSocketRoute,
    bad_path,
    check_path,
    method_not_allowed,
    not_found,
    sub_routes,
    with_body_limit,
    wrap_middleware,
)
from trioapi.concurrency import is_async_callable, run_in_threadpool
from trioapi.datastructures import URL, URLPath
from trioapi.exceptions import TrioAPIDeprecationWarning, TrioAPIError
from trioapi.middleware.wsgi import adopt_asyncio_wsgi_app
from trioapi.responses import RedirectResponse
from trioapi.types import ASGIApp, Receive, Scope, Send

if TYPE_CHECKING:
    from trioapi.middleware import Middleware

__all__ = ["Mount", "Router"]

F = TypeVar("F", bound=Callable[..., Any])
LifespanFactory = Callable[[Any], contextlib.AbstractAsyncContextManager[Any]]


async def _call_handler(handler: Callable[[], Any]) -> None:
    if is_async_callable(handler):
        await handler()
    else:
        await run_in_threadpool(handler)


def _may_match(route: BaseRoute, path: str) -> bool:
    """Whether ``route`` can match a request for ``path`` (a route path, after the root path).

    A route or socket route with parameters matches by its pattern alone, so
    one whose pattern refuses ``path`` need not be tried for it; anything
    else (a mount, a host, a custom route) may.
    """
    if isinstance(route, Route | WebSocketRoute):
        return route.compiled.regex.match(path) is not None
    return True


class Router:
    """A list of routes served as one ASGI app.

    Args:
        routes: The routes, tried in order.
        redirect_slashes: Redirect ``/path/`` to ``/path`` (and back) when
            only the other one exists.
        default: ASGI app for scopes no route matches (default: 404).
        lifespan: ``lifespan(app)`` async context manager factory, run when
            the router itself receives the lifespan scope.
        on_startup: Functions run at startup when there is no ``lifespan``.
        on_shutdown: Functions run at shutdown when there is no ``lifespan``.
        middleware: Middleware wrapped around the routing itself.
        max_body_size: The largest request body in bytes for these routes (413
            above it); it replaces an enclosing limit, up or down.
    """

    def __init__(
        self,
        routes: Sequence[BaseRoute] | None = None,
        redirect_slashes: bool = True,
        default: ASGIApp | None = None,
        lifespan: LifespanFactory | None = None,
        *,
        on_startup: Sequence[Callable[[], Any]] | None = None,
        on_shutdown: Sequence[Callable[[], Any]] | None = None,
        middleware: Sequence[Middleware[Any]] | None = None,
        max_body_size: int | None = None,
    ) -> None:
        self.routes: list[BaseRoute] = list(routes or [])
        self.redirect_slashes = redirect_slashes
        self.default: ASGIApp = default if default is not None else not_found
        self.on_startup: list[Callable[[], Any]] = list(on_startup or [])
        self.on_shutdown: list[Callable[[], Any]] = list(on_shutdown or [])
        if lifespan is not None and (
            inspect.isasyncgenfunction(lifespan) or inspect.isgeneratorfunction(lifespan)
        ):
            _warn_generator_lifespan(lifespan)
            lifespan = to_lifespan(lifespan)
        self.lifespan_context: LifespanFactory = lifespan or self._run_event_handlers
        self._indexed_routes: list[BaseRoute] | None = None
        self._indexed_count = -1
        self._by_literal_path: dict[str, list[BaseRoute]] = {}
        # The route tried first for a literal path, when it is a plain
        # literal Route: a request for it with one of its methods needs no
        # matching (see _build_index).
        self._literal_first: dict[str, Route] = {}
        self._pattern_routes: list[BaseRoute] = []
        # The pattern routes, each one that matches_by_path() as a Route, else None.
        self._pattern_entries: list[Route | None] = []
        self._low_priority_routes: list[BaseRoute] = []
        self.middleware_stack: ASGIApp = with_body_limit(
            wrap_middleware(self.app, middleware), max_body_size
        )

    @contextlib.asynccontextmanager
    async def _run_event_handlers(self, app: Any) -> AsyncIterator[None]:
        del app
        for handler in self.on_startup:
            await _call_handler(handler)
        yield
        for handler in self.on_shutdown:
            await _call_handler(handler)

    def __eq__(self, other: object) -> bool:
        """Routers are equal when their routes are (as in Starlette)."""
        return isinstance(other, Router) and self.routes == other.routes

    # Hashed by identity: routers are used as keys, and their routes change.
    __hash__ = object.__hash__

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point. A checkpoint."""
        await self.middleware_stack(scope, receive, send)

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Route one scope (the router without its middleware). A checkpoint."""
        kind = scope["type"]
        if kind == "lifespan":
            scope.setdefault("router", self)
            await self.lifespan(scope, receive, send)
            return
        if "router" not in scope:
            # The outermost router checks the path once for the whole app.
            scope["router"] = self
            if "\ufffd" in scope["path"] and not has_utf8_path(scope):
                await bad_path(scope, receive, send)
                return
        routes = self.routes
        if routes is not self._indexed_routes or len(routes) != self._indexed_count:
            self._build_index()
        if kind == "http":
            # get_route_path(scope), without the call when there is no root path.
            path = get_route_path(scope) if scope.get("root_path") else scope["path"]
            first = self._literal_first.get(path)
            if first is not None:
                methods = first.methods
                if not methods or scope["method"] in methods:
                    # What matches() and handle() of the first candidate do,
                    # which a request for its literal path fully matches.
                    scope["route"] = first
                    scope["endpoint"] = first.endpoint
                    outer_params = scope.get("path_params")
                    scope["path_params"] = {**outer_params} if outer_params else {}
                    await first.app(scope, receive, send)
                    return
            elif path not in self._by_literal_path:
                # Only pattern routes can match. While they are plain routes,
                # what matches() and handle() do, until one fully matches.
                method = scope["method"]
                for plain in self._pattern_entries:
                    if plain is None:
                        break  # a mount, a host, a route of its own: the loop below asks it
                    params = plain.compiled.match(path)
                    if params is None:
                        continue
                    methods = plain.methods
                    if methods and method not in methods:
                        break  # a path-only match: the loop below looks further
                    scope["route"] = plain
                    scope["endpoint"] = plain.endpoint
                    outer_params = scope.get("path_params")
                    scope["path_params"] = {**outer_params, **params} if outer_params else params
                    await plain.app(scope, receive, send)
                    return
        partial: tuple[BaseRoute, Scope] | None = None
        allowed: set[str] = set()
        for route in self._candidates(scope):
            match, child_scope = route.matches(scope)
            if match == Match.FULL:
                scope["route"] = route  # as Starlette 1.10: what answered (read by telemetry)
                scope.update(child_scope)
                await route.handle(scope, receive, send)
                return
            if match == Match.PARTIAL:
                allowed |= getattr(route, "methods", None) or set()
                if partial is None:
                    partial = (route, child_scope)
        if partial is not None:
            route, child_scope = partial
            scope["route"] = route
            scope.update(child_scope)
            if isinstance(route, Route) and allowed != route.methods:
                # Several routes share the path: Allow lists all their methods.
                await method_not_allowed(scope, receive, send, allowed)
            else:
                await route.handle(scope, receive, send)
            return
        if self._should_redirect_slash(scope):
            await self._redirect_slash(scope, receive, send)
            return
        if self._low_priority_routes and await self._serve_low_priority(scope, receive, send):
            return
        await self.default(scope, receive, send)

    async def _serve_low_priority(self, scope: Scope, receive: Receive, send: Send) -> bool:
        """Serve with the most specific low-priority route (a frontend) that matches.

        Tried only after every other route and the slash redirect, as
        FastAPI does; a full match beats a method-only one, then the higher
        ``specificity`` (the longer prefix), then the earlier route.
        """
        best: tuple[tuple[bool, int], BaseRoute, Scope] | None = None
        for route in self._low_priority_routes:
            match, child_scope = route.matches(scope)
            if match == Match.NONE:
                continue
            rank = (match == Match.FULL, getattr(route, "specificity", 0))
            if best is None or rank > best[0]:
                best = (rank, route, child_scope)
        if best is None:
            return False
        _, route, child_scope = best
        scope["route"] = route
        scope.update(child_scope)
        await route.handle(scope, receive, send)
        return True

    def _candidates(self, scope: Scope) -> list[BaseRoute]:
        """The routes that may match ``scope``, in order, found by a dict look-up.

        A route without path parameters matches only its literal path, so for
        a path it can match, only routes with that literal path and the
        routes that use patterns need trying. The index is rebuilt when the
        route list changes length (routes are appended after construction).
        """
        routes = self.routes
        if routes is not self._indexed_routes or len(routes) != self._indexed_count:
            self._build_index()
        if scope["type"] == "lifespan" or "path" not in scope:
            return routes
        return self._by_literal_path.get(get_route_path(scope), self._pattern_routes)

    def _build_index(self) -> None:
        literal: dict[str, list[int]] = {}
        pattern: list[int] = []
        self._low_priority_routes = []
        for position, route in enumerate(self.routes):
            if getattr(route, "low_priority", False):
                # Tried after all the others (and the slash redirect): not indexed.
                self._low_priority_routes.append(route)
                continue
            compiled = getattr(route, "compiled", None)
            if isinstance(route, Route | WebSocketRoute) and compiled and not compiled.convertors:
                literal.setdefault(route.path, []).append(position)
            else:
                pattern.append(position)
        self._pattern_routes = [self.routes[i] for i in pattern]
        self._pattern_entries = [
            route if isinstance(route, Route) and route.matches_by_path() else None
            for route in self._pattern_routes
        ]
        self._by_literal_path = {
            path: [
                self.routes[i]
                for i in sorted(positions + pattern)
                if _may_match(self.routes[i], path)
            ]
            for path, positions in literal.items()
        }
        self._literal_first = {}
        for path, candidates in self._by_literal_path.items():
            first = candidates[0]
            if isinstance(first, Route) and first.matches_literally(path):
                self._literal_first[path] = first
        self._indexed_routes = self.routes
        self._indexed_count = len(self.routes)

    async def lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer the lifespan protocol around ``lifespan_context``. A checkpoint."""
        app = scope.get("app", self)
        await serve_lifespan(app, scope, receive, send, self.lifespan_context, lambda _: None)

    def _toggled_slash_scope(self, scope: Scope) -> Scope:
        path: str = scope["path"]
        # Decided on the routed path: with root_path "/sub/" the path "/sub/"
        # routes as "", which gains a slash ("/sub//" routes as "/").
        if get_route_path(scope).endswith("/"):
            return {**scope, "path": path.rstrip("/")}
        return {**scope, "path": path + "/"}

    def _should_redirect_slash(self, scope: Scope) -> bool:
        if not self.redirect_slashes or scope["type"] != "http":
            return False
        if get_route_path(scope) == "/":
            return False
        toggled = self._toggled_slash_scope(scope)
        return any(
            route.matches(toggled)[0] != Match.NONE
            for route in self.routes
            if not getattr(route, "low_priority", False)
        )

    async def _redirect_slash(self, scope: Scope, receive: Receive, send: Send) -> None:
        url = URL(scope=scope)
        new_path = self._toggled_slash_scope(scope)["path"]
        await RedirectResponse(str(url.replace(path=new_path)))(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        """The path of the route called ``name`` with ``path_params`` filled in.

        Raises:
            NoMatchFound: no route has that name and those parameters.
        """
        for route in self.routes:
            try:
                return route.url_path_for(name, **path_params)
            except NoMatchFound:
                continue
        raise NoMatchFound(name, path_params)

    # -- registration ----------------------------------------------------

    def add_route(
        self,
        path: str,
        endpoint: Callable[..., Any],
        methods: Collection[str] | None = None,
        name: str | None = None,
        include_in_schema: bool = True,
    ) -> None:
        """Add a plain route; ``endpoint`` takes a ``Request`` and returns a ``Response``."""
        self.routes.append(
            Route(path, endpoint, methods=methods, name=name, include_in_schema=include_in_schema)
        )

    def route(
        self,
        path: str,
        methods: Collection[str] | None = None,
        name: str | None = None,
        include_in_schema: bool = True,
    ) -> Callable[[F], F]:
        """Decorator form of :meth:`add_route`."""

        def decorator(func: F) -> F:
            self.add_route(path, func, methods, name, include_in_schema)
            return func

        return decorator

    def add_websocket_route(
        self, path: str, endpoint: Callable[..., Any], name: str | None = None
    ) -> None:
        """Add a plain WebSocket route; ``endpoint`` takes a ``WebSocket``."""
        self.routes.append(WebSocketRoute(path, endpoint, name=name))

    def websocket_route(self, path: str, name: str | None = None) -> Callable[[F], F]:
        """Decorator form of :meth:`add_websocket_route`."""

        def decorator(func: F) -> F:
            self.add_websocket_route(path, func, name=name)
            return func

        return decorator

    def mount(self, path: str, app: ASGIApp, name: str | None = None) -> None:
        """Serve ``app`` under ``path``."""
        self.routes.append(Mount(path, app=app, name=name))

    def host(self, host: str, app: ASGIApp, name: str | None = None) -> None:
        """Serve ``app`` for requests to ``host``."""
        self.routes.append(Host(host, app=app, name=name))


def _url_path_in_children(
    routes: list[BaseRoute], name: str, prefix: str, path_params: dict[str, Any]
) -> URLPath | None:
    for route in routes:
        try:
            url = route.url_path_for(name, **path_params)
        except NoMatchFound:
            continue
        return URLPath(prefix.rstrip("/") + str(url), protocol=url.protocol, host=url.host)
    return None


class Mount(BaseRoute):
    """Serve an ASGI app, or a list of routes, under a path prefix.

    The sub-app sees ``scope["path"]`` whole and the prefix added to
    ``root_path``, as the ASGI spec describes.

    Args:
        path: The prefix (``""`` or starting with ``/``), with optional parameters.
        app: The ASGI app to serve; or give ``routes``.
        routes: Routes for a new ``Router`` to serve.
        name: Name for ``url_path_for`` (``"static"``, and ``"name:child"`` for routes inside).
        middleware: Middleware wrapped around the mounted app only.
        max_body_size: The largest request body in bytes under this prefix (413
            above it); it replaces the application's limit, up or down.
    """

    def __init__(
        self,
        path: str,
        app: ASGIApp | None = None,
        routes: Sequence[BaseRoute] | None = None,
        name: str | None = None,
        *,
        middleware: Sequence[Middleware[Any]] | None = None,
        max_body_size: int | None = None,
    ) -> None:
        if path:
            check_path(path, "Mount")
        if (app is None) == (routes is None):
            raise TrioAPIError(
                f"Mount({path!r}): give either an app or routes, not both or neither."
            )
        self.path = path.rstrip("/")
        if app is not None:
            # a2wsgi's WSGIMiddleware (FastAPI's docs use it) needs asyncio.
            app = adopt_asyncio_wsgi_app(app)
        if app is None:
            app = Router(routes=list(routes or []))
        self._base_app: ASGIApp = app
        self.app = with_body_limit(wrap_middleware(app, middleware), max_body_size)
        self.name = name
        self.compiled = compile_path(self.path + "/{path:path}")

    @property
    def routes(self) -> list[BaseRoute]:
        """The routes of the mounted app, if it has any."""
        return sub_routes(self._base_app)

    @property
    def path_format(self) -> str:
        """The mount pattern, with a trailing ``{path}``."""
        return self.compiled.format

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] not in ("http", "websocket"):
            return Match.NONE, {}
        route_path = get_route_path(scope)
        params = self.compiled.match(route_path)
        if params is None:
            return Match.NONE, {}
        remaining = "/" + params.pop("path")
        matched = route_path[: len(route_path) - len(remaining) + 1].rstrip("/")
        root_path = scope.get("root_path", "")
        return Match.FULL, {
            "path_params": {**scope.get("path_params", {}), **params},
            "app_root_path": scope.get("app_root_path", root_path),
            "root_path": root_path + matched,
            "endpoint": self.app,
        }

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        if self.name is not None and name == self.name and "path" in path_params:
            path, remaining = self.compiled.build(
                {**path_params, "path": str(path_params["path"]).lstrip("/")}
            )
            if not remaining:
                return URLPath(path, protocol="http")
        elif self.name is None or name.startswith(self.name + ":"):
            child_name = name if self.name is None else name[len(self.name) + 1 :]
            # The prefix's own parameters without a value keep their {name}
            # placeholder; the rest go to the routes inside.
            prefix, child_params = self.compiled.build({**path_params, "path": ""})
            if "path" in path_params:
                child_params["path"] = path_params["path"]
            url = _url_path_in_children(self.routes, child_name, prefix, child_params)
            if url is not None:
                return url
        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mount) and self.path == other.path and self.app == other.app

    __hash__ = BaseRoute.__hash__

    def __repr__(self) -> str:
        name = self.name or ""
        return f"{type(self).__name__}(path={self.path!r}, name={name!r}, app={self.app!r})"


def _warn_generator_lifespan(lifespan: Callable[..., Any]) -> None:
    """Starlette's deprecation of generator-function lifespans, said by ``trioapi.routing``."""
    kind = "async generator" if inspect.isasyncgenfunction(lifespan) else "generator"
    # Attributed to the public module (as Starlette's is to starlette.routing),
    # at the caller's line, so filters written for Starlette keep matching.
    caller = sys._getframe(2)
    warnings.warn_explicit(
        f"{kind} function lifespans are deprecated, "
        "use an @contextlib.asynccontextmanager function instead",
        TrioAPIDeprecationWarning,
        caller.f_code.co_filename,
        caller.f_lineno,
        module="trioapi.routing",
    )
