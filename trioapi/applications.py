"""``TrioAPI``: the application. It wires routing, middleware, errors, docs and the core."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Literal, TypeVar

from typing_extensions import Unpack

from trioapi._docs_routes import install_docs_routes
from trioapi._routing.api_router import APIRouter
from trioapi._routing.frontend import add_frontend
from trioapi._routing.route_options import RouteOptions
from trioapi._routing.unique_id import generate_unique_id
from trioapi._settings import DEFAULT_LIMITS, LIMIT_NAMES, Limits, split_limits
from trioapi._starlette_app import Starlette
from trioapi.asyncio_bridge import AsyncioBridge
from trioapi.datastructures import Default
from trioapi.dependencies.limits import DependencyLimiters
from trioapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
    websocket_request_validation_exception_handler,
)
from trioapi.exceptions import (
    HTTPException,
    RequestValidationError,
    TrioAPIDeprecationWarning,
    WebSocketRequestValidationError,
)
from trioapi.middleware import Middleware
from trioapi.openapi.utils import get_openapi
from trioapi.params import Depends
from trioapi.responses import JSONResponse, Response
from trioapi.routing import BaseRoute
from trioapi.types import ASGIApp, Lifespan

DecoratedCallable = TypeVar("DecoratedCallable", bound=Callable[..., Any])
Decorator = Callable[[DecoratedCallable], DecoratedCallable]
ExceptionHandlerFn = Callable[[Any, Any], Any]


def _telemetry_settings(config: Mapping[str, Any]) -> Any:
    # Imported only when asked for: OpenTelemetry is the optional telemetry extra.
    from trioapi.telemetry import TelemetrySettings

    return TelemetrySettings(config)


class TrioAPI(Starlette):
    """The application: FastAPI's ``FastAPI`` class, on Trio.

    Every argument FastAPI 0.163 accepts is accepted here, with the same
    meaning and default (except ``title``, ``"TrioAPI"``); the ones trioapi
    adds are ``asyncio_bridge``, ``telemetry`` and the request settings.

    Args:
        debug: Answer unhandled errors with their traceback (never in production).
        routes: Routes to start with; usually left out for the decorators.
        title: The API's name in the OpenAPI document and the docs pages.
        summary: A one-line summary in the OpenAPI document.
        description: A longer description (Markdown) in the OpenAPI document.
        version: The API's own version (not trioapi's) in the OpenAPI document.
        openapi_url: Where the OpenAPI document is served; ``None`` turns the
            document and both docs pages off.
        openapi_tags: Descriptions and order of the tags used by operations.
        servers: The ``servers`` list of the OpenAPI document.
        dependencies: Dependencies run for every path operation of the app.
        default_response_class: The response class of routes that set none.
        redirect_slashes: Redirect ``/items/`` to ``/items`` (and back) when
            only the other one is routed.
        docs_url: Where Swagger UI is served; ``None`` turns it off.
        redoc_url: Where ReDoc is served; ``None`` turns it off.
        swagger_ui_oauth2_redirect_url: The OAuth2 redirect page Swagger UI uses.
        swagger_ui_init_oauth: Swagger UI's ``initOAuth`` settings.
        middleware: Middleware to wrap the app in, outermost first.
        exception_handlers: Handlers by status code or exception class.
        on_startup: Callables run at startup (deprecated: use ``lifespan``).
        on_shutdown: Callables run at shutdown (deprecated: use ``lifespan``).
        lifespan: An async context manager factory around the app's life; its
            ``yield`` may give the state that ``request.state`` reads. Under
            trioapi it also opens the app nursery (``AppNursery``).
        terms_of_service: A URL in the OpenAPI document's ``info``.
        contact: The ``info.contact`` object of the OpenAPI document.
        license_info: The ``info.license`` object of the OpenAPI document.
        openapi_prefix: Deprecated name of ``root_path``.
        root_path: The path prefix a proxy strips (better given to the server:
            ``trioapi run --root-path``).
        root_path_in_servers: List ``root_path`` in the document's ``servers``.
        responses: Extra responses documented on every path operation.
        callbacks: OpenAPI callbacks documented on every path operation.
        webhooks: A router whose routes document the webhooks the API sends.
        deprecated: Mark every path operation deprecated.
        include_in_schema: ``False`` leaves every path operation out of the document.
        swagger_ui_parameters: Swagger UI configuration parameters.
        generate_unique_id_function: Makes each operation's ``operationId``.
        separate_input_output_schemas: Separate ``-Input``/``-Output`` schemas
            for models whose validation and serialization shapes differ.
        openapi_external_docs: The document's ``externalDocs`` object.
        asyncio_bridge: Run an asyncio loop as long as the lifespan, for
            asyncio-only libraries (``trioapi.asyncio_bridge``,
            docs/guides/databases.md).
        telemetry: OpenTelemetry settings: spans, metrics and logs for each
            request, as FastAPI 0.163 has them (the ``telemetry`` extra;
            ``trioapi.telemetry``, docs/guides/telemetry.md).
        **extra: The request settings, as keywords (``timeout=``,
            ``max_body_size=``, ``body_timeout=``, ``min_body_rate=``,
            ``send_timeout=``, ``cancel_on_disconnect=``,
            ``strict_content_type=``, ``max_json_depth=``, the form limits,
            ``concurrent_dependencies=``) or as one ``limits=Limits(...)``:
            see :class:`trioapi.Limits` for each one, its default and the
            status it answers, and docs/security.md. Routers and routes may
            replace each (``None``: no limit); ``app.request_limits`` holds
            the app's complete value, and each setting is also an attribute
            (``app.timeout``) that may be reassigned before the app serves.
            Any other keyword is kept in ``app.extra``, as in FastAPI.
    """

    def __init__(
        self,
        *,
        debug: bool = False,
        routes: list[BaseRoute] | None = None,
        title: str = "TrioAPI",
        summary: str | None = None,
        description: str = "",
        version: str = "0.1.0",
        openapi_url: str | None = "/openapi.json",
        openapi_tags: list[dict[str, Any]] | None = None,
        servers: list[dict[str, Any]] | None = None,
        dependencies: Sequence[Depends] | None = None,
        default_response_class: type[Response] = Default(JSONResponse),
        redirect_slashes: bool = True,
        docs_url: str | None = "/docs",
        redoc_url: str | None = "/redoc",
        swagger_ui_oauth2_redirect_url: str | None = "/docs/oauth2-redirect",
        swagger_ui_init_oauth: dict[str, Any] | None = None,
        middleware: Sequence[Middleware[Any]] | None = None,
        exception_handlers: dict[int | type[Exception], ExceptionHandlerFn] | None = None,
        on_startup: Sequence[Callable[[], Any]] | None = None,
        on_shutdown: Sequence[Callable[[], Any]] | None = None,
        lifespan: Lifespan | None = None,
        terms_of_service: str | None = None,
        contact: dict[str, Any] | None = None,
        license_info: dict[str, Any] | None = None,
        openapi_prefix: str = "",
        root_path: str = "",
        root_path_in_servers: bool = True,
        responses: dict[int | str, dict[str, Any]] | None = None,
        callbacks: list[BaseRoute] | None = None,
        webhooks: APIRouter | None = None,
        deprecated: bool | None = None,
        include_in_schema: bool = True,
        swagger_ui_parameters: dict[str, Any] | None = None,
        generate_unique_id_function: Callable[[Any], str] = Default(generate_unique_id),
        separate_input_output_schemas: bool = True,
        openapi_external_docs: dict[str, Any] | None = None,
        asyncio_bridge: bool = False,
        telemetry: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> None:
        self.title = title
        self.summary = summary
        self.description = description
        self.version = version
        self.terms_of_service = terms_of_service
        self.contact = contact
        self.license_info = license_info
        self.openapi_url = openapi_url
        self.openapi_tags = openapi_tags
        self.openapi_version = "3.1.0"
        self.openapi_external_docs = openapi_external_docs
        self.root_path_in_servers = root_path_in_servers
        self.docs_url = docs_url
        self.redoc_url = redoc_url
        self.swagger_ui_oauth2_redirect_url = swagger_ui_oauth2_redirect_url
        self.swagger_ui_init_oauth = swagger_ui_init_oauth
        self.swagger_ui_parameters = swagger_ui_parameters
        self.servers = servers or []
        self.separate_input_output_schemas = separate_input_output_schemas
        self.openapi_schema: dict[str, Any] | None = None
        # trioapi's own: routes that set timeout=/max_body_size=/body_timeout= document
        # their 504/413/408; False keeps FastAPI's document exactly.
        self.openapi_limit_responses = True
        if root_path:
            _warn_root_path_deprecated(root_path)
        self.dependency_overrides: dict[Callable[..., Any], Callable[..., Any]] = {}
        # The semaphores of Depends(max_concurrency=N), shared by the app's
        # routes, which find them through dependency_overrides_provider.
        self.dependency_limiters = DependencyLimiters()
        self.webhooks = webhooks or APIRouter()
        self.telemetry = None if telemetry is None else _telemetry_settings(telemetry)
        # The request settings, given as keywords among FastAPI's **extra.
        limits = DEFAULT_LIMITS.merge(split_limits(extra, "TrioAPI"))
        self.extra = extra
        self.router: APIRouter = APIRouter(
            routes=routes,
            redirect_slashes=redirect_slashes,
            dependency_overrides_provider=self,
            on_startup=on_startup,
            on_shutdown=on_shutdown,
            lifespan=lifespan,
            default_response_class=default_response_class,
            dependencies=dependencies,
            callbacks=callbacks,
            deprecated=deprecated,
            include_in_schema=include_in_schema,
            responses=responses,
            generate_unique_id_function=generate_unique_id_function,
        )
        handlers: dict[Any, ExceptionHandlerFn] = {
            HTTPException: http_exception_handler,
            RequestValidationError: request_validation_exception_handler,
            WebSocketRequestValidationError: websocket_request_validation_exception_handler,
        }
        handlers.update(exception_handlers or {})
        self._init_application(
            debug=debug,
            middleware=middleware,
            exception_handlers=handlers,
            limits=limits,
            root_path=root_path or openapi_prefix,
            asyncio_bridge=AsyncioBridge() if asyncio_bridge else None,
        )
        install_docs_routes(self)

    def _body_limit_layers(self) -> list[Middleware[Any]]:
        # The body limit is the core's (request_limits), per router and route.
        return []

    def __setattr__(self, name: str, value: Any) -> None:
        # Each request setting is an attribute too (app.max_json_depth = 2, as
        # FastAPI apps set app attributes); setting one replaces it in the
        # app's value, which every request reads when it starts.
        if name in LIMIT_NAMES:
            # Absent while a subclass sets one before TrioAPI.__init__ has run.
            limits: Limits | None = self.__dict__.get("request_limits")
            if limits is not None:
                super().__setattr__("request_limits", replace(limits, **{name: value}))
        elif name == "request_limits":
            for setting in LIMIT_NAMES:
                super().__setattr__(setting, getattr(value, setting))
        super().__setattr__(name, value)

    # -- configuration -----------------------------------------------------

    def middleware(self, middleware_type: str) -> Callable[[DecoratedCallable], DecoratedCallable]:
        """Register ``async def f(request, call_next)`` as HTTP middleware."""
        if middleware_type != "http":
            raise ValueError('Currently only middleware("http") is supported.')

        def decorator(func: DecoratedCallable) -> DecoratedCallable:
            from trioapi.middleware.base import BaseHTTPMiddleware

            self.add_middleware(BaseHTTPMiddleware, dispatch=func)
            return func

        return decorator

    def exception_handler(
        self, exc_class_or_status_code: int | type[Exception]
    ) -> Callable[[DecoratedCallable], DecoratedCallable]:
        """Decorator form of :meth:`add_exception_handler`."""

        def decorator(func: DecoratedCallable) -> DecoratedCallable:
            self.add_exception_handler(exc_class_or_status_code, func)
            return func

        return decorator

    def on_event(self, event_type: str) -> Callable[[DecoratedCallable], DecoratedCallable]:
        """Deprecated in FastAPI in favour of ``lifespan``; still supported."""
        return self.router.on_event(event_type)

    def add_event_handler(self, event_type: str, func: Callable[[], Any]) -> None:
        """Run ``func`` at ``"startup"`` or ``"shutdown"``."""
        self.router.add_event_handler(event_type, func)

    # -- routes ------------------------------------------------------------

    def add_api_route(self, path: str, endpoint: Callable[..., Any], **options: Any) -> None:
        """Add a typed route; see :class:`trioapi.routing.APIRoute` for the options."""
        self.router.add_api_route(path, endpoint, **options)

    def frontend(
        self,
        path: str,
        *,
        directory: str | os.PathLike[str],
        fallback: Literal["auto", "index.html", "404.html"] | None = "auto",
        check_dir: bool | Literal["auto"] = "auto",
    ) -> None:
        """Serve a static frontend build after all routes; see :meth:`APIRouter.frontend`."""
        add_frontend(
            self.router.add_api_route,
            path,
            directory=directory,
            fallback=fallback,
            check_dir=check_dir,
            stacklevel=2,
        )

    def api_route(self, path: str, **options: Any) -> Decorator[Any]:
        """Decorator form of :meth:`add_api_route`."""
        return self.router.api_route(path, **options)

    def get(self, path: str, **options: Unpack[RouteOptions]) -> Decorator[Any]:
        """Register a GET endpoint (HEAD is answered by it too)."""
        return self.router.get(path, **options)

    def put(self, path: str, **options: Unpack[RouteOptions]) -> Decorator[Any]:
        """Register a PUT endpoint."""
        return self.router.put(path, **options)

    def post(self, path: str, **options: Unpack[RouteOptions]) -> Decorator[Any]:
        """Register a POST endpoint."""
        return self.router.post(path, **options)

    def delete(self, path: str, **options: Unpack[RouteOptions]) -> Decorator[Any]:
        """Register a DELETE endpoint."""
        return self.router.delete(path, **options)

    def options(self, path: str, **options: Unpack[RouteOptions]) -> Decorator[Any]:
        """Register an OPTIONS endpoint."""
        return self.router.options(path, **options)

    def head(self, path: str, **options: Unpack[RouteOptions]) -> Decorator[Any]:
        """Register a HEAD endpoint."""
        return self.router.head(path, **options)

    def patch(self, path: str, **options: Unpack[RouteOptions]) -> Decorator[Any]:
        """Register a PATCH endpoint."""
        return self.router.patch(path, **options)

    def trace(self, path: str, **options: Unpack[RouteOptions]) -> Decorator[Any]:
        """Register a TRACE endpoint."""
        return self.router.trace(path, **options)

    def websocket(
        self, path: str, name: str | None = None, *, dependencies: Sequence[Depends] | None = None
    ) -> Decorator[Any]:
        """Register a typed WebSocket endpoint."""
        return self.router.websocket(path, name=name, dependencies=dependencies)

    def add_api_websocket_route(
        self,
        path: str,
        endpoint: Callable[..., Any],
        name: str | None = None,
        *,
        dependencies: Sequence[Depends] | None = None,
    ) -> None:
        """Add a typed WebSocket endpoint."""
        self.router.add_api_websocket_route(path, endpoint, name=name, dependencies=dependencies)

    def include_router(self, router: APIRouter, **options: Any) -> None:
        """Add every route of ``router``; options as ``APIRouter.include_router``."""
        self.router.include_router(router, **options)

    def route(self, path: str, **options: Any) -> Decorator[Any]:
        """Decorator form of :meth:`add_route`."""
        return self.router.route(path, **options)

    def websocket_route(self, path: str, name: str | None = None) -> Decorator[Any]:
        """Decorator form of :meth:`add_websocket_route`."""
        return self.router.websocket_route(path, name=name)

    # -- OpenAPI and docs --------------------------------------------------

    def build_middleware_stack(self) -> ASGIApp:
        """Starlette's stack, inside the app's telemetry (``trioapi.telemetry``)."""
        from trioapi._telemetry_layer import telemetry_middleware

        return telemetry_middleware(super().build_middleware_stack(), self.telemetry, self)

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI document, generated on first use and cached.

        It documents the app's routes, webhooks and metadata. An app mounted
        under ``root_path`` (and ``root_path_in_servers``, the default) lists
        that path as its server when it declares no servers itself.
        """
        if self.openapi_schema is None:
            servers = list(self.servers or [])
            if not servers and self.root_path and self.root_path_in_servers:
                servers = [{"url": self.root_path}]
            self.openapi_schema = get_openapi(
                title=self.title,
                version=self.version,
                openapi_version=self.openapi_version,
                summary=self.summary,
                description=self.description,
                routes=self.routes,
                webhooks=self.webhooks.routes,
                tags=self.openapi_tags,
                servers=servers,
                terms_of_service=self.terms_of_service,
                contact=self.contact,
                license_info=self.license_info,
                separate_input_output_schemas=self.separate_input_output_schemas,
                external_docs=self.openapi_external_docs,
                # trioapi's own switch; FastAPI has no such answers.
                limit_responses=self.openapi_limit_responses,
            )
        return self.openapi_schema


def _warn_root_path_deprecated(root_path: str) -> None:
    # Set by the app, root_path is only right behind one particular proxy
    # setup; the server is the place that knows the mount prefix.
    warnings.warn(
        f"TrioAPI(root_path={root_path!r}) is deprecated: let the server set the ASGI "
        f"root_path instead, with `trioapi run --root-path {root_path}` or "
        f"`hypercorn --root-path {root_path}`.",
        TrioAPIDeprecationWarning,
        stacklevel=3,
    )
