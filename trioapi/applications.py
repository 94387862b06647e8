"""``TrioAPI``: the application. It wires routing, middleware, errors, docs and the core."""

from __future__ import annotations

import warnings
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any, TypeVar

import trio
from typing_extensions import Unpack

from trioapi._foreign import check_not_foreign
from trioapi._lifespan import serve_lifespan
from trioapi._routing.api_router import APIRouter
from trioapi._routing.route_options import RouteOptions
from trioapi._routing.unique_id import generate_unique_id
from trioapi._runtime import refuse_wrong_runtime, running_on_trio
from trioapi._scopes import (
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_MAX_BODY_SIZE,
    DEFAULT_MAX_FORM_FIELDS,
    DEFAULT_MAX_FORM_FILES,
    DEFAULT_MAX_FORM_HEADER_COUNT,
    DEFAULT_MAX_FORM_HEADER_SIZE,
    DEFAULT_MAX_FORM_PART_SIZE,
    DEFAULT_MIN_BODY_RATE,
    DEFAULT_SEND_TIMEOUT,
    RequestLimits,
    serve_request,
)
from trioapi._server import patch_hypercorn_if_loaded, patch_hypercorn_worker_serve_if_loaded
from trioapi._shutdown import ServerShutdown
from trioapi.asyncio_bridge import AsyncioBridge
from trioapi.datastructures import Default, State
from trioapi.dependencies.body import DEFAULT_MAX_JSON_DEPTH
from trioapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
    websocket_request_validation_exception_handler,
)
from trioapi.exceptions import (
    HTTPException,
    RequestTimeout,
    RequestValidationError,
    TrioAPIDeprecationWarning,
    TrioAPIError,
    WebSocketRequestValidationError,
)
from trioapi.middleware import Middleware
from trioapi.middleware.errors import ServerErrorMiddleware
from trioapi.middleware.exceptions import ExceptionMiddleware
from trioapi.params import Depends
from trioapi.responses import JSONResponse, Response
from trioapi.routing import BaseRoute
from trioapi.types import ASGIApp, Lifespan, Receive, Scope, Send

DecoratedCallable = TypeVar("DecoratedCallable", bound=Callable[..., Any])
Decorator = Callable[[DecoratedCallable], DecoratedCallable]
ExceptionHandlerFn = Callable[[Any, Any], Any]


class TrioAPI:
    """The application: FastAPI's ``FastAPI`` class, on Trio.

    Arguments are FastAPI's, plus the request-scope settings of trioapi:
    ``max_body_size`` (bytes, default 16 MiB; 413 above it), ``body_timeout``
    (seconds to receive a request body, default 60; 408 after it),
    ``min_body_rate`` (slowest average rate of a body in bytes per second
    once 10 s have passed since its first read, default 500; 408 below it),
    ``timeout`` (seconds for a whole request, default none; 504 after it, see
    ``trioapi.exceptions.RequestTimeout``; routers and routes may set their own) and
    ``cancel_on_disconnect`` (cancel the handler when the client goes away,
    default on; routers and routes may set their own) and
    ``concurrent_dependencies`` (resolve independent async dependencies
    concurrently, default on) and ``send_timeout`` (seconds one response
    message may wait for a client that does not read, default 60; the handler
    is then cancelled as on a disconnect) and ``strict_content_type`` (``False``:
    a body without a Content-Type is parsed as JSON on every route that does
    not set its own ``strict_content_type``) and ``max_json_depth``
    (deepest JSON nesting of a typed body, default 64; 422 past it) and
    ``max_form_files``, ``max_form_fields`` (most file / non-file parts of a
    multipart body, default 1000 each; the field limit also holds for
    URL-encoded forms), ``max_form_part_size`` (largest non-file part in
    bytes, default 1 MiB), ``max_form_header_count`` and
    ``max_form_header_size`` (headers per multipart part, default 8, and
    bytes per header line, default 4224); 400 above any of them.
    ``max_body_size``, ``body_timeout``, ``min_body_rate``, ``send_timeout``,
    the five form limits, ``max_json_depth``, ``timeout`` and ``cancel_on_disconnect`` may
    be replaced per router and per route (``None``: no limit). See
    docs/security.md. ``asyncio_bridge=True`` runs an asyncio loop as long as
    the lifespan, for asyncio-only libraries (``trioapi.asyncio_bridge``,
    docs/guides/databases.md).
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
        max_body_size: int | None = DEFAULT_MAX_BODY_SIZE,
        body_timeout: float | None = DEFAULT_BODY_TIMEOUT,
        timeout: float | None = None,
        cancel_on_disconnect: bool = True,
        concurrent_dependencies: bool = True,
        send_timeout: float | None = DEFAULT_SEND_TIMEOUT,
        strict_content_type: bool = True,
        max_json_depth: int | None = DEFAULT_MAX_JSON_DEPTH,
        max_form_files: int | None = DEFAULT_MAX_FORM_FILES,
        max_form_fields: int | None = DEFAULT_MAX_FORM_FIELDS,
        max_form_part_size: int | None = DEFAULT_MAX_FORM_PART_SIZE,
        min_body_rate: float | None = DEFAULT_MIN_BODY_RATE,
        max_form_header_count: int | None = DEFAULT_MAX_FORM_HEADER_COUNT,
        max_form_header_size: int | None = DEFAULT_MAX_FORM_HEADER_SIZE,
        asyncio_bridge: bool = False,
        **extra: Any,
    ) -> None:
        self.debug = debug
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
        self.extra = extra
        self.openapi_schema: dict[str, Any] | None = None
        if root_path:
            _warn_root_path_deprecated(root_path)
        self.root_path = root_path or openapi_prefix
        self.state = State()
        self.dependency_overrides: dict[Callable[..., Any], Callable[..., Any]] = {}
        self.webhooks = webhooks or APIRouter()
        self.concurrent_dependencies = concurrent_dependencies
        # Read per request by the body reader (trioapi.dependencies.body).
        self.strict_content_type = strict_content_type
        self.max_json_depth = max_json_depth
        self.request_limits = RequestLimits(
            max_body_size=max_body_size,
            body_timeout=body_timeout,
            timeout=timeout,
            cancel_on_disconnect=cancel_on_disconnect,
            send_timeout=send_timeout,
            max_form_files=max_form_files,
            max_form_fields=max_form_fields,
            max_form_part_size=max_form_part_size,
            min_body_rate=min_body_rate,
            max_form_header_count=max_form_header_count,
            max_form_header_size=max_form_header_size,
        )
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
        self.exception_handlers: dict[Any, ExceptionHandlerFn] = {
            HTTPException: http_exception_handler,
            RequestValidationError: request_validation_exception_handler,
            WebSocketRequestValidationError: websocket_request_validation_exception_handler,
        }
        self.exception_handlers.update(exception_handlers or {})
        self.user_middleware: list[Middleware[Any]] = list(middleware or [])
        self.middleware_stack: ASGIApp | None = None
        self._app_nursery: trio.Nursery | None = None
        self._shutdown = ServerShutdown()
        # The asyncio loop (trioapi.asyncio_bridge): opened around the lifespan
        # when asked for here, or by open_asyncio_bridge() inside it.
        self.asyncio_bridge: AsyncioBridge | None = AsyncioBridge() if asyncio_bridge else None
        self._bridge_wraps_lifespan = asyncio_bridge
        self._install_docs_routes()
        # Inside a hypercorn trio worker (which imports the app's module, so
        # runs this, before it starts serving): hand this app the worker's
        # shutdown trigger, so graceful shutdown reaches it (trioapi._server).
        patch_hypercorn_worker_serve_if_loaded()

    # -- serving ---------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point. Each call runs in the scopes of ``trioapi._scopes``."""
        scope["app"] = self
        if self.root_path:
            scope["root_path"] = self.root_path
        app = self.middleware_stack
        if app is None:
            if not running_on_trio():  # served on asyncio: say how to serve it, at once
                await refuse_wrong_runtime(scope, receive, send)
                return
            # Built once, by the first call: the lifespan's startup, or the
            # first request when there is no lifespan (a bare test call).
            app = self.middleware_stack = self.build_middleware_stack()
        if scope["type"] == "lifespan":
            # Once per server, before it accepts connections: fix hypercorn's
            # trio-worker send race when that worker serves us (trioapi._server).
            patch_hypercorn_if_loaded()
            lifespan = self.router.lifespan_context
            if self._bridge_wraps_lifespan and self.asyncio_bridge is not None:
                lifespan = self.asyncio_bridge.wrap_lifespan(lifespan)
            await serve_lifespan(self, scope, receive, send, lifespan, self._set_app_nursery)
            return
        shutdown = self._shutdown
        token = shutdown.activate()
        bridge = self.asyncio_bridge
        loop_token = None if bridge is None else bridge.enter_request()
        try:
            if scope["type"] == "websocket":
                # The guard closes the socket with 1001 when shutdown begins.
                with shutdown.open_socket_guard(receive, send) as guard:
                    await guard.run(
                        partial(
                            serve_request,
                            app,
                            scope,
                            limits=self.request_limits,
                            app_nursery=self._app_nursery,
                        )
                    )
            else:
                await serve_request(
                    app,
                    scope,
                    receive,
                    send,
                    limits=self.request_limits,
                    app_nursery=self._app_nursery,
                    on_timeout=self._answer_timeout,
                )
        finally:
            if bridge is not None and loop_token is not None:
                bridge.exit_request(loop_token)
            shutdown.deactivate(token)

    def shutdown_trigger(
        self, trigger: Callable[[], Awaitable[object]]
    ) -> Callable[[], Awaitable[None]]:
        """Wrap a server's shutdown trigger so the app shuts its connections down first.

        Hypercorn gives open connections ``graceful_timeout`` seconds after its
        trigger fires, then cancels them; the lifespan only hears of the
        shutdown after that. Serving with
        ``hypercorn.trio.serve(app, config, shutdown_trigger=app.shutdown_trigger(event.wait))``
        closes every open WebSocket with 1001 and ends every streaming
        response as soon as ``trigger()`` returns, before hypercorn's countdown.
        ``hypercorn --worker-class trio app:app``, ``trioapi run`` and
        ``trioapi dev`` apply it to hypercorn's own trigger for you.

        Args:
            trigger: The async callable that returns when the server should stop.
        """

        async def wait_then_begin_shutdown() -> None:
            await trigger()
            await self._shutdown.begin()

        return wait_then_begin_shutdown

    async def _answer_timeout(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a request whose deadline passed with the handler for ``RequestTimeout``.

        Looked up like any ``HTTPException``: a handler for status 504, then
        for ``RequestTimeout`` or its nearest base class (``HTTPException``).
        """
        from trioapi.concurrency import is_async_callable, run_in_threadpool
        from trioapi.middleware.exceptions import lookup_exception_handler
        from trioapi.requests import Request

        error = RequestTimeout()
        handler = self.exception_handlers.get(504)
        if handler is None:
            by_class = {k: v for k, v in self.exception_handlers.items() if isinstance(k, type)}
            handler = lookup_exception_handler(by_class, error) or http_exception_handler
        request = Request(scope, receive, send)
        if is_async_callable(handler):
            response = await handler(request, error)
        else:
            response = await run_in_threadpool(handler, request, error)
        await response(scope, receive, send)

    @property
    def app_nursery(self) -> trio.Nursery | None:
        """The application's nursery while the lifespan runs, else ``None``.

        Tasks started in it run until shutdown; they are then cancelled and
        awaited before the code after the lifespan's ``yield`` runs.
        """
        return self._app_nursery

    def _set_app_nursery(self, nursery: trio.Nursery | None) -> None:
        self._app_nursery = nursery

    def build_middleware_stack(self) -> ASGIApp:
        """Wrap the router: server errors outermost, then user middleware, then handlers."""
        error_handler = None
        handlers: dict[Any, ExceptionHandlerFn] = {}
        for key, handler in self.exception_handlers.items():
            if key in (500, Exception):
                error_handler = handler
            else:
                handlers[key] = handler
        layers = [
            Middleware(ServerErrorMiddleware, handler=error_handler, debug=self.debug),
            *self.user_middleware,
            Middleware(ExceptionMiddleware, handlers=handlers, debug=self.debug),
        ]
        app: ASGIApp = self.router
        for cls, args, kwargs in reversed(layers):
            app = cls(app, *args, **kwargs)
        return app

    # -- configuration -----------------------------------------------------

    def add_middleware(
        self, middleware_class: Callable[..., ASGIApp], *args: Any, **kwargs: Any
    ) -> None:
        """Add an ASGI middleware; the last one added is the outermost."""
        if self.middleware_stack is not None:
            name = getattr(middleware_class, "__name__", repr(middleware_class))
            raise TrioAPIError(
                f"Cannot add middleware {name} after an application has started: the "
                "middleware stack was built when the server started the app. Add it where the "
                "app is created, before it is served (not in a lifespan or an endpoint)."
            )
        self.user_middleware.insert(0, Middleware(middleware_class, *args, **kwargs))

    def middleware(self, middleware_type: str) -> Callable[[DecoratedCallable], DecoratedCallable]:
        """Register ``async def f(request, call_next)`` as HTTP middleware."""
        if middleware_type != "http":
            raise ValueError('Currently only middleware("http") is supported.')

        def decorator(func: DecoratedCallable) -> DecoratedCallable:
            from trioapi.middleware.base import BaseHTTPMiddleware

            self.add_middleware(BaseHTTPMiddleware, dispatch=func)
            return func

        return decorator

    def add_exception_handler(
        self, exc_class_or_status_code: int | type[Exception], handler: ExceptionHandlerFn
    ) -> None:
        """Answer ``exc_class_or_status_code`` with ``handler(request, exc)``."""
        check_not_foreign("add_exception_handler()", exc_class_or_status_code)
        self.exception_handlers[exc_class_or_status_code] = handler

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

    @property
    def routes(self) -> list[BaseRoute]:
        """Every route of the app, including the docs routes."""
        return self.router.routes

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        """The path of the route called ``name``, with ``path_params`` filled in."""
        return self.router.url_path_for(name, **path_params)

    def add_api_route(self, path: str, endpoint: Callable[..., Any], **options: Any) -> None:
        """Add a typed route; see :class:`trioapi.routing.APIRoute` for the options."""
        self.router.add_api_route(path, endpoint, **options)

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

    def add_route(self, path: str, route: Callable[..., Any], **options: Any) -> None:
        """Add a plain (untyped) route whose endpoint takes a ``Request``."""
        self.router.add_route(path, route, **options)

    def route(self, path: str, **options: Any) -> Decorator[Any]:
        """Decorator form of :meth:`add_route`."""
        return self.router.route(path, **options)

    def add_websocket_route(
        self, path: str, route: Callable[..., Any], name: str | None = None
    ) -> None:
        """Add a plain WebSocket route whose endpoint takes a ``WebSocket``."""
        self.router.add_websocket_route(path, route, name=name)

    def websocket_route(self, path: str, name: str | None = None) -> Decorator[Any]:
        """Decorator form of :meth:`add_websocket_route`."""
        return self.router.websocket_route(path, name=name)

    def mount(self, path: str, app: ASGIApp, name: str | None = None) -> None:
        """Serve ``app`` under ``path``.

        An ``a2wsgi.WSGIMiddleware`` (asyncio-only) is served by
        :class:`trioapi.middleware.wsgi.WSGIMiddleware` instead.
        """
        self.router.mount(path, app=app, name=name)

    def host(self, host: str, app: ASGIApp, name: str | None = None) -> None:
        """Serve ``app`` for requests to ``host``."""
        self.router.host(host, app=app, name=name)

    # -- OpenAPI and docs --------------------------------------------------

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI document, generated on first use and cached."""
        if self.openapi_schema is None:
            from trioapi.openapi.utils import get_openapi_for_app

            self.openapi_schema = get_openapi_for_app(self)
        return self.openapi_schema

    def _install_docs_routes(self) -> None:
        from trioapi._docs_routes import install_docs_routes

        install_docs_routes(self)


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
