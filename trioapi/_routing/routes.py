"""The toolkit's routes: ``Route``, ``WebSocketRoute`` and ``Host``.

A route answers two questions: does this scope match me (``matches``, which
also returns what to add to the scope), and what is the path of my name
(``url_path_for``). ``handle`` then serves the matched scope.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Collection, Sequence
from enum import IntEnum
from typing import TYPE_CHECKING, Any, TypeVar

from trioapi._host import host_header
from trioapi._routing.paths import CompiledPath, compile_path, get_name, get_route_path
from trioapi.concurrency import is_async_callable, run_in_threadpool
from trioapi.datastructures import URLPath
from trioapi.exceptions import HTTPException, TrioAPIError
from trioapi.middleware.body_limit import RequestBodyLimitMiddleware
from trioapi.middleware.exceptions import answer_errors_here
from trioapi.requests import Request
from trioapi.responses import PlainTextResponse, Response
from trioapi.types import ASGIApp, Receive, Scope, Send
from trioapi.websockets import WebSocket, WebSocketClose

if TYPE_CHECKING:
    from trioapi.middleware import Middleware

__all__ = [
    "BaseRoute",
    "Host",
    "Match",
    "NoMatchFound",
    "Route",
    "WebSocketRoute",
    "bad_path",
    "check_path",
    "method_not_allowed",
    "method_not_allowed_response",
    "not_found",
    "path_matching",
    "request_response",
    "sub_routes",
    "websocket_session",
    "with_body_limit",
    "wrap_middleware",
]


class Match(IntEnum):
    """How well a route matches: not at all, path only (wrong method), or fully."""

    NONE = 0
    PARTIAL = 1
    FULL = 2


class NoMatchFound(Exception):
    """``url_path_for`` found no route with that name and those parameters."""

    def __init__(self, name: str, path_params: dict[str, Any]) -> None:
        params = ", ".join(sorted(path_params))
        super().__init__(f'No route exists for name "{name}" and params "{params}".')


def request_response(func: Callable[[Request], Any]) -> ASGIApp:
    """Turn ``func(request) -> Response`` (async, or sync run in a thread) into an ASGI app."""
    call_async = is_async_callable(func)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)
        if call_async:
            response = await func(request)
        else:
            response = await run_in_threadpool(func, request)
        await response(scope, receive, send)

    # Errors are answered here, as Starlette does, so middleware around the
    # route (a mount's) sees the error's response.
    return answer_errors_here(app)


def websocket_session(func: Callable[[WebSocket], Awaitable[None]]) -> ASGIApp:
    """Turn ``async func(websocket)`` into an ASGI app."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await func(WebSocket(scope, receive, send))

    return answer_errors_here(app)


def _is_plain_function(endpoint: Any) -> bool:
    while isinstance(endpoint, functools.partial):
        endpoint = endpoint.func
    return inspect.isfunction(endpoint) or inspect.ismethod(endpoint)


def wrap_middleware(app: ASGIApp, middleware: Sequence[Middleware[Any]] | None) -> ASGIApp:
    for cls, args, kwargs in reversed(list(middleware or [])):
        app = cls(app, *args, **kwargs)
    return app


def with_body_limit(app: ASGIApp, max_body_size: int | None) -> ASGIApp:
    """``app`` behind a ``RequestBodyLimitMiddleware`` when a limit is given."""
    if max_body_size is None:
        return app
    return RequestBodyLimitMiddleware(app, max_body_size=max_body_size)


def check_path(path: str, kind: str) -> None:
    # "" is allowed: a router's route whose path is all prefix (``@router.get("")``).
    if path and not path.startswith("/"):
        raise TrioAPIError(f"{kind} path {path!r} must start with '/'. Use {'/' + path!r}.")


class BaseRoute:
    """What a router holds: something that matches scopes and builds paths."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """How well ``scope`` matches, and the entries to add to the scope if it does."""
        raise NotImplementedError  # pragma: no cover

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        """The path of the route called ``name``.

        Raises:
            NoMatchFound: no route of that name takes those parameters.
        """
        raise NotImplementedError  # pragma: no cover

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve a scope ``matches`` accepted. A checkpoint."""
        raise NotImplementedError  # pragma: no cover

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the route on its own, outside a router: unmatched scopes get a 404."""
        match, child_scope = self.matches(scope)
        if match == Match.NONE:
            await not_found(scope, receive, send)
            return
        scope.update(child_scope)
        await self.handle(scope, receive, send)


async def not_found(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "websocket":
        await WebSocketClose()(scope, receive, send)
        return
    if "app" in scope:
        # Inside an application, the app's exception handlers render the 404.
        raise HTTPException(status_code=404)
    await PlainTextResponse("Not Found", status_code=404)(scope, receive, send)


async def bad_path(scope: Scope, receive: Receive, send: Send) -> None:
    """Answer 400 for a path that is not UTF-8 (a WebSocket is closed, as for no route).

    Raises:
        HTTPException: inside an application, so its handlers render the 400.
    """
    if scope["type"] == "websocket":
        await WebSocketClose()(scope, receive, send)
        return
    detail = "Invalid percent-encoding in the path: not UTF-8"
    if "app" in scope:
        raise HTTPException(status_code=400, detail=detail)
    await PlainTextResponse(detail, status_code=400)(scope, receive, send)


def method_not_allowed_response(scope: Scope, allow: str) -> Response:
    """The 405 answer with ``Allow: {allow}``.

    Raises:
        HTTPException: inside an application (``"app"`` in the scope), so the
            app's exception handlers render the 405.
    """
    headers = {"Allow": allow}
    if "app" in scope:
        raise HTTPException(status_code=405, headers=headers)
    return PlainTextResponse("Method Not Allowed", status_code=405, headers=headers)


async def method_not_allowed(
    scope: Scope, receive: Receive, send: Send, methods: Collection[str]
) -> None:
    """Answer 405 with ``Allow`` listing ``methods``."""
    response = method_not_allowed_response(scope, ", ".join(sorted(methods)))
    await response(scope, receive, send)


def _build_path(
    compiled: CompiledPath, name: str, own_name: str, path_params: dict[str, Any]
) -> str:
    if name != own_name or set(path_params) != set(compiled.convertors):
        raise NoMatchFound(name, path_params)
    path, _ = compiled.build(path_params)
    return path


F = TypeVar("F", bound=Callable[..., Any])


def path_matching(matches: F) -> F:
    """Mark a ``matches`` whose answer is :class:`Route`'s (it may add to the child scope).

    See :meth:`Route.matches_literally`.
    """
    matches.matches_by_path = True  # type: ignore[attr-defined]
    return matches


class _PathRoute(BaseRoute):
    """What Route and WebSocketRoute share: a compiled path matched for one scope type."""

    compiled: CompiledPath
    endpoint: Callable[..., Any]

    @property
    def path_format(self) -> str:
        """The path with ``{name}`` placeholders (convertor types dropped)."""
        return self.compiled.format

    @property
    def param_convertors(self) -> dict[str, Any]:
        """Each path parameter's convertor, by name."""
        return self.compiled.convertors

    def _match_path(self, scope: Scope, scope_type: str) -> Scope | None:
        """The child scope when ``scope`` is of ``scope_type`` and its path matches."""
        if scope["type"] != scope_type:
            return None
        params = self.compiled.match(get_route_path(scope))
        if params is None:
            return None
        return {
            "endpoint": self.endpoint,
            "path_params": {**scope.get("path_params", {}), **params},
        }


class Route(_PathRoute):
    """An HTTP route: a path, the methods it answers and the endpoint serving it.

    Args:
        path: The path, with ``{name}`` or ``{name:type}`` parameters.
        endpoint: A function ``request -> Response`` (async, or sync run in
            a worker thread), or an ASGI app (e.g. an ``HTTPEndpoint`` class).
        methods: The methods answered; a function endpoint defaults to GET,
            and GET routes answer HEAD too. ``None`` for an ASGI app: all.
        name: The name for ``url_path_for``; default the endpoint's name.
        include_in_schema: Whether OpenAPI lists the route.
        middleware: Middleware wrapped around this route's endpoint only.
        max_body_size: The largest request body in bytes for this route (413
            above it); it replaces the application's limit, up or down.
    """

    # FastAPI's callback and webhook routes have paths like "{$callback_url}/x"
    # and "new-subscription"; APIRoute turns this off.
    requires_leading_slash = True

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        methods: Collection[str] | None = None,
        name: str | None = None,
        include_in_schema: bool = True,
        middleware: Sequence[Middleware[Any]] | None = None,
        max_body_size: int | None = None,
    ) -> None:
        if self.requires_leading_slash:
            check_path(path, "Route")
        self.path = path
        self.endpoint = endpoint
        self.name = get_name(endpoint) if name is None else name
        self.include_in_schema = include_in_schema
        if _is_plain_function(endpoint):
            app: ASGIApp = request_response(endpoint)
            methods = ["GET"] if methods is None else methods
        else:
            app = endpoint
        self.methods: set[str] | None = None
        if methods is not None:
            self.methods = {method.upper() for method in methods}
            if "GET" in self.methods:
                self.methods.add("HEAD")
        self.app = with_body_limit(wrap_middleware(app, middleware), max_body_size)
        self.compiled = compile_path(path)

    @path_matching
    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        child_scope = self._match_path(scope, "http")
        if child_scope is None:
            return Match.NONE, {}
        if self.methods and scope["method"] not in self.methods:
            return Match.PARTIAL, child_scope
        return Match.FULL, child_scope

    def matches_by_path(self) -> bool:
        """Whether the route's class matches and handles as :class:`Route` does.

        Then a router may serve an HTTP request for a path the route's
        pattern matches, with one of its methods, without calling
        :meth:`matches` and :meth:`handle`: it sets ``route``, ``endpoint``
        and ``path_params`` in the scope and calls :attr:`app`. A subclass
        that overrides either (without marking its ``matches`` with
        :func:`path_matching`) is always asked.
        """
        cls = type(self)
        return (
            getattr(cls.matches, "matches_by_path", False)
            and cls._match_path is _PathRoute._match_path
            and cls.handle is Route.handle
        )

    def matches_literally(self, path: str) -> bool:
        """Whether :meth:`matches_by_path` holds and ``path`` is the route's own, without parameters."""
        return (
            not self.compiled.convertors
            and self.compiled.regex.match(path) is not None
            and self.matches_by_path()
        )

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        return URLPath(_build_path(self.compiled, name, self.name, path_params), protocol="http")

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.methods and scope["method"] not in self.methods:
            await method_not_allowed(scope, receive, send, self.methods)
            return
        await self.app(scope, receive, send)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Route)
            and self.path == other.path
            and self.endpoint == other.endpoint
            and self.methods == other.methods
        )

    __hash__ = BaseRoute.__hash__

    def __repr__(self) -> str:
        methods = sorted(self.methods or [])
        return f"{type(self).__name__}(path={self.path!r}, name={self.name!r}, methods={methods!r})"


class WebSocketRoute(_PathRoute):
    """A WebSocket route: ``endpoint`` is ``async f(websocket)`` or an ASGI app."""

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        name: str | None = None,
        middleware: Sequence[Middleware[Any]] | None = None,
    ) -> None:
        check_path(path, "WebSocketRoute")
        self.path = path
        self.endpoint = endpoint
        self.name = get_name(endpoint) if name is None else name
        app: ASGIApp = websocket_session(endpoint) if _is_plain_function(endpoint) else endpoint
        self.app = wrap_middleware(app, middleware)
        self.compiled = compile_path(path)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        child_scope = self._match_path(scope, "websocket")
        if child_scope is None:
            return Match.NONE, {}
        return Match.FULL, child_scope

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        path = _build_path(self.compiled, name, self.name, path_params)
        return URLPath(path, protocol="websocket")

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, WebSocketRoute)
            and self.path == other.path
            and self.endpoint == other.endpoint
        )

    __hash__ = BaseRoute.__hash__

    def __repr__(self) -> str:
        return f"{type(self).__name__}(path={self.path!r}, name={self.name!r})"


def sub_routes(app: Any) -> list[BaseRoute]:
    return list(getattr(app, "routes", []))


class Host(BaseRoute):
    """Serve an ASGI app for requests whose ``Host`` matches a pattern like ``{sub}.example.org``."""

    def __init__(self, host: str, app: ASGIApp, name: str | None = None) -> None:
        if host.startswith("/"):
            raise TrioAPIError(f"Host pattern {host!r} must not start with '/'.")
        self.host = host
        self.app = app
        self.name = name
        self.compiled = compile_path(host)

    @property
    def routes(self) -> list[BaseRoute]:
        """The routes of the app served for this host."""
        return sub_routes(self.app)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] not in ("http", "websocket"):
            return Match.NONE, {}
        # Host names are case-insensitive; an invalid Host value matches no pattern.
        parsed = host_header(scope.get("headers", ()))
        params = None if parsed is None else self.compiled.match(parsed.host.lower())
        if params is None:
            return Match.NONE, {}
        path_params = {**scope.get("path_params", {}), **params}
        return Match.FULL, {"path_params": path_params, "endpoint": self.app}

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        if self.name is not None and name == self.name and "path" in path_params:
            host_params = dict(path_params)
            path = host_params.pop("path")
            host, remaining = self.compiled.build(host_params)
            if not remaining:
                return URLPath(str(path), host=host)
        elif self.name is None or name.startswith(self.name + ":"):
            child_name = name if self.name is None else name[len(self.name) + 1 :]
            host, child_params = self.compiled.build(path_params)
            for route in self.routes:
                try:
                    url = route.url_path_for(child_name, **child_params)
                except NoMatchFound:
                    continue
                return URLPath(str(url), protocol=url.protocol, host=host)
        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Host) and self.host == other.host and self.app == other.app

    __hash__ = BaseRoute.__hash__

    def __repr__(self) -> str:
        name = self.name or ""
        return f"{type(self).__name__}(host={self.host!r}, name={name!r}, app={self.app!r})"
