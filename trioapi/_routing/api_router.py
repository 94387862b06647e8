"""``APIRouter``: typed path operations grouped under a prefix, tags and dependencies.

A router registers ``APIRoute``s with its own settings merged in (prefix,
tags, dependencies, responses, default response class, unique-id function).
``include_router`` copies another router's routes in, merging the settings
parent-first, as FastAPI does; the included router's lifespan and startup /
shutdown handlers join this router's (see ``router_lifespan``).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from enum import Enum
from typing import Any, Literal, TypeVar

from typing_extensions import Unpack

from trioapi._routing.api_route import APIRoute, APIWebSocketRoute
from trioapi._routing.frontend import add_frontend
from trioapi._routing.route_options import RouteOptions
from trioapi._routing.router import Mount, Router
from trioapi._routing.router_include import (
    Inclusion,
    check_prefix,
    first_given,
    included_api_route_options,
)
from trioapi._routing.router_lifespan import (
    LifespanContext,
    LifespanLayer,
    compose_lifespan,
    to_lifespan,
)
from trioapi._routing.routes import BaseRoute, Route, WebSocketRoute
from trioapi._routing.unique_id import generate_unique_id
from trioapi._settings import LimitOptions, limits_from, split_limits
from trioapi.datastructures import Default, DefaultPlaceholder
from trioapi.exceptions import InvalidDeclarationError, TrioAPIError
from trioapi.params import Depends
from trioapi.responses import JSONResponse, Response
from trioapi.types import ASGIApp

__all__ = ["APIRouter"]

DecoratedCallable = TypeVar("DecoratedCallable", bound=Callable[..., Any])
Decorator = Callable[[DecoratedCallable], DecoratedCallable]
UniqueIdFunction = Callable[[Any], str]

_ON_EVENT_DEPRECATION = (
    "on_event is deprecated, use lifespan event handlers instead. Read more about it in the "
    "FastAPI docs for Lifespan Events (https://fastapi.tiangolo.com/advanced/events/)."
)


class APIRouter(Router):
    """A group of path operations, FastAPI's ``APIRouter``.

    Args:
        prefix: Path prefix of every route (``"/items"``; no trailing ``/``).
        tags: OpenAPI tags put before each route's own.
        dependencies: Dependencies run before each route's own.
        default_response_class: Response class of routes that set none.
        responses: Extra OpenAPI responses, under each route's own.
        callbacks: OpenAPI callbacks added to each route.
        routes: Routes to start with.
        redirect_slashes: Redirect ``/path/`` to ``/path`` when only that exists.
        default: ASGI app for requests no route matches.
        dependency_overrides_provider: Object whose ``dependency_overrides``
            routes consult (the app).
        route_class: The ``APIRoute`` subclass used for path operations.
        on_startup: Functions run at startup (when no ``lifespan`` is given).
        on_shutdown: Functions run at shutdown (when no ``lifespan`` is given).
        lifespan: ``lifespan(app)``: an async context manager factory, or an
            async or sync generator function yielding once (optionally a
            state dict).
        deprecated: Mark every route deprecated in OpenAPI.
        include_in_schema: List the routes in OpenAPI.
        generate_unique_id_function: Builds each route's unique id.
        **settings: The request settings of :class:`trioapi.Limits`
            (``timeout=``, ``max_body_size=``, ..., or a whole ``limits=``
            value) for these routes: a route's own, or an ``include_router``
            call's, wins; those none of them gives are the app's.
    """

    def __init__(
        self,
        *,
        prefix: str = "",
        tags: list[str | Enum] | None = None,
        dependencies: Sequence[Depends] | None = None,
        default_response_class: type[Response] | DefaultPlaceholder = Default(JSONResponse),
        responses: dict[int | str, dict[str, Any]] | None = None,
        callbacks: list[BaseRoute] | None = None,
        routes: list[BaseRoute] | None = None,
        redirect_slashes: bool = True,
        default: ASGIApp | None = None,
        dependency_overrides_provider: Any | None = None,
        route_class: type[APIRoute] = APIRoute,
        on_startup: Sequence[Callable[[], Any]] | None = None,
        on_shutdown: Sequence[Callable[[], Any]] | None = None,
        lifespan: Callable[[Any], Any] | None = None,
        deprecated: bool | None = None,
        include_in_schema: bool = True,
        generate_unique_id_function: UniqueIdFunction | DefaultPlaceholder = Default(
            generate_unique_id
        ),
        **settings: Unpack[LimitOptions],
    ) -> None:
        check_prefix(prefix, "APIRouter(prefix=...)")
        super().__init__(routes=routes, redirect_slashes=redirect_slashes, default=default)
        self.prefix = prefix
        self.tags: list[str | Enum] = list(tags or [])
        self.dependencies: list[Depends] = list(dependencies or [])
        self.default_response_class = default_response_class
        self.responses: dict[int | str, dict[str, Any]] = dict(responses or {})
        self.callbacks: list[BaseRoute] = list(callbacks or [])
        self.dependency_overrides_provider = dependency_overrides_provider
        self.route_class = route_class
        self.deprecated = deprecated
        self.include_in_schema = include_in_schema
        self.generate_unique_id_function = generate_unique_id_function
        # The settings merged into each route registered here (trioapi._settings).
        self.limits = limits_from(settings, "APIRouter")
        self.on_startup: list[Callable[[], Any]] = list(on_startup or [])
        self.on_shutdown: list[Callable[[], Any]] = list(on_shutdown or [])
        self._init_lifespan(lifespan)

    # -- lifespan ----------------------------------------------------------

    def _init_lifespan(self, lifespan: Callable[[Any], Any] | None) -> None:
        if lifespan is None:
            self._events_layer: LifespanLayer | None = LifespanLayer(router=self)
            self._lifespan_layers = [self._events_layer]
        else:
            self._events_layer = None
            self._lifespan_layers = [LifespanLayer(context=to_lifespan(lifespan))]
        self._composed_lifespan = compose_lifespan(self._lifespan_layers)
        self.lifespan_context: LifespanContext = self._composed_lifespan

    def _adopt_lifespan(self, router: APIRouter) -> None:
        if self.lifespan_context is not self._composed_lifespan:
            # The user replaced lifespan_context by hand: it becomes the outer layer.
            self._lifespan_layers[:] = [LifespanLayer(context=self.lifespan_context)]
            self._events_layer = None
            self._composed_lifespan = compose_lifespan(self._lifespan_layers)
            self.lifespan_context = self._composed_lifespan
        self._lifespan_layers.extend(router._lifespan_layers)
        self.on_startup.extend(router.on_startup)
        self.on_shutdown.extend(router.on_shutdown)
        if self._events_layer is not None:
            # Our handler lists now hold the included router's handlers too.
            self._events_layer.covers.add(id(router))
            if router._events_layer is not None:
                self._events_layer.covers.update(router._events_layer.covers)

    def add_event_handler(self, event_type: str, func: Callable[[], Any]) -> None:
        """Run ``func`` at ``"startup"`` or ``"shutdown"`` (sync or async, no arguments).

        Raises:
            ValueError: ``event_type`` is neither ``"startup"`` nor ``"shutdown"``.
        """
        if event_type == "startup":
            self.on_startup.append(func)
        elif event_type == "shutdown":
            self.on_shutdown.append(func)
        else:
            raise ValueError(f"Unknown event type {event_type!r}: use 'startup' or 'shutdown'.")

    def on_event(self, event_type: str) -> Decorator[Any]:
        """Deprecated (as in FastAPI): register a startup or shutdown handler.

        Prefer ``lifespan=``.
        """
        warnings.warn(_ON_EVENT_DEPRECATION, DeprecationWarning, stacklevel=2)

        def decorator(func: DecoratedCallable) -> DecoratedCallable:
            self.add_event_handler(event_type, func)
            return func

        return decorator

    # -- typed routes ------------------------------------------------------

    def add_api_route(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        methods: Sequence[str] | set[str] | None = None,
        route_class_override: type[APIRoute] | None = None,
        **options: Unpack[RouteOptions],
    ) -> None:
        """Register ``endpoint`` at ``self.prefix + path`` with this router's settings merged in.

        Tags, dependencies and callbacks are the router's followed by the
        route's; responses are the router's updated with the route's; each
        request setting (``timeout=``, ...) given here wins over the router's.
        """
        merged: dict[str, Any] = dict(options)
        merged["limits"] = self.limits.merge(split_limits(merged, "add_api_route"))
        merged["tags"] = [*self.tags, *(options.get("tags") or [])]
        merged["dependencies"] = [*self.dependencies, *(options.get("dependencies") or [])]
        merged["callbacks"] = [*self.callbacks, *(options.get("callbacks") or [])]
        merged["responses"] = {**self.responses, **(options.get("responses") or {})}
        merged["deprecated"] = options.get("deprecated") or self.deprecated
        merged["include_in_schema"] = (
            options.get("include_in_schema", True) and self.include_in_schema
        )
        merged["response_class"] = first_given(
            options.get("response_class", Default(JSONResponse)), self.default_response_class
        )
        merged["generate_unique_id_function"] = first_given(
            options.get("generate_unique_id_function", Default(generate_unique_id)),
            self.generate_unique_id_function,
        )
        route_class = route_class_override or self.route_class
        route = route_class(
            self.prefix + path,
            endpoint,
            methods=methods,
            dependency_overrides_provider=self.dependency_overrides_provider,
            **merged,
        )
        self.routes.append(route)

    def api_route(
        self,
        path: str,
        *,
        methods: Sequence[str] | set[str] | None = None,
        **options: Unpack[RouteOptions],
    ) -> Decorator[Any]:
        """Decorator form of :meth:`add_api_route`; returns the function unchanged."""

        def decorator(func: DecoratedCallable) -> DecoratedCallable:
            self.add_api_route(path, func, methods=methods, **options)
            return func

        return decorator

    def get(self, path: str, **options: Unpack[RouteOptions]) -> Decorator[Any]:
        """Register a GET path operation."""
        return self.api_route(path, methods=["GET"], **options)

    def put(self, path: str, **options: Unpack[RouteOptions]) -> Decorator[Any]:
        """Register a PUT path operation."""
        return self.api_route(path, methods=["PUT"], **options)

    def post(self, path: str, **options: Unpack[RouteOptions]) -> Decorator[Any]:
        """Register a POST path operation."""
        return self.api_route(path, methods=["POST"], **options)

    def delete(self, path: str, **options: Unpack[RouteOptions]) -> Decorator[Any]:
        """Register a DELETE path operation."""
        return self.api_route(path, methods=["DELETE"], **options)

    def options(self, path: str, **options: Unpack[RouteOptions]) -> Decorator[Any]:
        """Register an OPTIONS path operation."""
        return self.api_route(path, methods=["OPTIONS"], **options)

    def head(self, path: str, **options: Unpack[RouteOptions]) -> Decorator[Any]:
        """Register a HEAD path operation."""
        return self.api_route(path, methods=["HEAD"], **options)

    def patch(self, path: str, **options: Unpack[RouteOptions]) -> Decorator[Any]:
        """Register a PATCH path operation."""
        return self.api_route(path, methods=["PATCH"], **options)

    def trace(self, path: str, **options: Unpack[RouteOptions]) -> Decorator[Any]:
        """Register a TRACE path operation."""
        return self.api_route(path, methods=["TRACE"], **options)

    def add_api_websocket_route(
        self,
        path: str,
        endpoint: Callable[..., Any],
        name: str | None = None,
        *,
        dependencies: Sequence[Depends] | None = None,
    ) -> None:
        """Register a typed WebSocket endpoint at ``self.prefix + path``."""
        route = APIWebSocketRoute(
            self.prefix + path,
            endpoint,
            name=name,
            dependencies=[*self.dependencies, *(dependencies or [])],
            dependency_overrides_provider=self.dependency_overrides_provider,
        )
        self.routes.append(route)

    def websocket(
        self, path: str, name: str | None = None, *, dependencies: Sequence[Depends] | None = None
    ) -> Decorator[Any]:
        """Decorator form of :meth:`add_api_websocket_route`."""

        def decorator(func: DecoratedCallable) -> DecoratedCallable:
            self.add_api_websocket_route(path, func, name=name, dependencies=dependencies)
            return func

        return decorator

    def frontend(
        self,
        path: str,
        *,
        directory: str | os.PathLike[str],
        fallback: Literal["auto", "index.html", "404.html"] | None = "auto",
        check_dir: bool | Literal["auto"] = "auto",
    ) -> None:
        """Serve a static frontend build (such as ``dist``) under ``path``, after all routes.

        Path operations, the slash redirect and other routes are tried
        first; then the frontend with the longest matching prefix serves the
        file, a directory's ``index.html``, or the fallback: ``404.html``
        (status 404) if the build has it, else ``index.html`` for a browser
        navigation (client-side routing). The router's (and includes')
        dependencies run for GET/HEAD; other methods get 405 for an existing
        file and 404 otherwise. Frontends are left out of OpenAPI.

        Args:
            path: The URL prefix (``"/"`` for the whole site).
            directory: The build output directory.
            fallback: ``"auto"`` (as described), ``"index.html"``,
                ``"404.html"`` (required to exist), or ``None`` (plain 404).
            check_dir: Check that the directory exists now; ``"auto"``
                checks unless ``TRIOAPI_ENV=development``, where it warns.

        Raises:
            InvalidDeclarationError: ``path`` does not start with ``/`` or
                ``fallback`` is not one of the values above.
            TrioAPIError: The directory (or an explicit fallback file) is missing.
        """
        add_frontend(
            self.add_api_route,
            path,
            directory=directory,
            fallback=fallback,
            check_dir=check_dir,
            stacklevel=2,
        )

    # -- including routers -------------------------------------------------

    def include_router(
        self,
        router: APIRouter,
        *,
        prefix: str = "",
        tags: list[str | Enum] | None = None,
        dependencies: Sequence[Depends] | None = None,
        default_response_class: type[Response] | DefaultPlaceholder = Default(JSONResponse),
        responses: dict[int | str, dict[str, Any]] | None = None,
        callbacks: list[BaseRoute] | None = None,
        deprecated: bool | None = None,
        include_in_schema: bool = True,
        generate_unique_id_function: UniqueIdFunction | DefaultPlaceholder = Default(
            generate_unique_id
        ),
        **settings: Unpack[LimitOptions],
    ) -> None:
        """Copy every route of ``router`` into this one, under ``prefix``.

        Settings merge parent-first: this router's tags, then ``tags``, then
        each route's; the same for dependencies and callbacks; ``responses``
        are updated in that order. The response class and unique-id function
        are the first one given of: the route's, ``router``'s default, the
        argument, this router's default. ``router``'s lifespan is entered
        inside this router's, and its startup/shutdown handlers are added to
        this router's lists. Routes added to ``router`` afterwards are not seen.
        The request settings (``timeout=``, ..., ``limits=``; see
        :class:`trioapi.Limits`) apply to the included routes that (with
        their router) give none; the innermost setting wins.

        Raises:
            TrioAPIError: ``router`` is this router, ``prefix`` is malformed,
                or a route with an empty path would get an empty path.
        """
        if router is self:
            raise InvalidDeclarationError(
                "Cannot include the same APIRouter instance into itself. Did you mean to include "
                "a different router? (include_router(): a router cannot include itself.)"
            )
        check_prefix(prefix, "include_router(prefix=...)")
        include = Inclusion(
            prefix=prefix,
            tags=list(tags or []),
            dependencies=list(dependencies or []),
            default_response_class=default_response_class,
            responses=dict(responses or {}),
            callbacks=list(callbacks or []),
            deprecated=deprecated,
            include_in_schema=include_in_schema,
            generate_unique_id_function=generate_unique_id_function,
            limits=limits_from(settings, "include_router"),
        )
        for route in list(router.routes):
            self._include_route(router, route, include)
        self._adopt_lifespan(router)

    def _include_route(self, router: APIRouter, route: BaseRoute, include: Inclusion) -> None:
        """Register one route of ``router`` on this router with the include's settings merged in.

        Raises:
            TrioAPIError: the route's path and the include prefix are both empty.
        """
        path = getattr(route, "path", None)
        if path == "" and not include.prefix:
            name = getattr(route, "name", "unknown")
            raise TrioAPIError(
                f"include_router(): prefix and path cannot both be empty (path operation: "
                f"{name}). Give the route a path, or include the router with a prefix."
            )
        full_prefix = self.prefix + include.prefix
        if isinstance(route, APIRoute):
            self.add_api_route(
                include.prefix + route.path,
                route.endpoint,
                **included_api_route_options(
                    route,
                    include,
                    response_class=router.default_response_class,
                    generate_unique_id_function=router.generate_unique_id_function,
                ),
            )
        elif isinstance(route, APIWebSocketRoute):
            self.add_api_websocket_route(
                include.prefix + route.path,
                route.endpoint,
                name=route.name,
                dependencies=[*include.dependencies, *route.dependencies],
            )
        elif isinstance(route, Route):
            self.add_route(
                full_prefix + route.path,
                route.endpoint,
                methods=sorted(route.methods or ()),
                name=route.name,
                include_in_schema=route.include_in_schema,
            )
        elif isinstance(route, WebSocketRoute):
            self.add_websocket_route(full_prefix + route.path, route.endpoint, name=route.name)
        elif isinstance(route, Mount):
            self.routes.append(Mount(full_prefix + route.path, app=route.app, name=route.name))
        else:
            # Host and custom routes do not match on the path: kept as they are.
            self.routes.append(route)
