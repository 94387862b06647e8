"""``Starlette``: the toolkit-level application that ``TrioAPI`` builds on.

It has Starlette's constructor and answers errors in plain text (no
``{"detail": ...}`` JSON, no docs routes). Every request still runs in the
scopes of ``trioapi._scopes`` (disconnect watching, deadlines, the
post-response nursery) and the lifespan in its nursery, exactly as for a
``TrioAPI`` app. Public as ``trioapi.applications.Starlette``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import trio

from trioapi._foreign import check_not_foreign
from trioapi._lifespan import AppTasks, serve_lifespan
from trioapi._response_tracker import STUCK_AFTER
from trioapi._routing.router import Router
from trioapi._routing.routes import BaseRoute
from trioapi._runtime import refuse_wrong_runtime, running_on_trio
from trioapi._serve import serve_http, serve_request
from trioapi._settings import Limits, RequestLimits
from trioapi._shutdown import ServerShutdown
from trioapi._watchdog import RequestWatchdog
from trioapi.datastructures import State, URLPath
from trioapi.exceptions import HTTPException, RequestTimeout, TrioAPIError
from trioapi.middleware import Middleware
from trioapi.middleware.body_limit import RequestBodyLimitMiddleware
from trioapi.middleware.errors import ServerErrorMiddleware
from trioapi.middleware.exceptions import ExceptionMiddleware, lookup_exception_handler
from trioapi.server import apply_hypercorn_fixes_if_served
from trioapi.types import ASGIApp, Lifespan, Receive, Scope, Send

if TYPE_CHECKING:
    from trioapi.asyncio_bridge import AsyncioBridge

__all__ = ["Starlette"]

DecoratedCallable = TypeVar("DecoratedCallable", bound=Callable[..., Any])
ExceptionHandlerFn = Callable[[Any, Any], Any]


class Starlette:
    """An ASGI application: routes, middleware, exception handlers, a lifespan.

    Errors are answered by ``ExceptionMiddleware``'s defaults (a plain-text
    body with the status phrase, or the ``HTTPException``'s detail) unless a
    handler is registered. ``ServerErrorMiddleware`` is the outermost layer,
    then the body limit (when ``max_body_size`` is set), then the user's
    middleware, then ``ExceptionMiddleware`` around the router.

    Args:
        debug: answer unhandled errors with a traceback page.
        routes: the routes to serve.
        middleware: middleware to run for every request, outermost first.
        exception_handlers: ``{status code or exception class: handler(request, exc)}``.
        lifespan: an async context manager factory ``lifespan(app)`` around
            serving; tasks may run in ``app.app_nursery`` while it lasts.
        max_body_size: the largest request body in bytes (413 above it);
            ``None`` (the default) sets no limit.
    """

    def __init__(
        self,
        debug: bool = False,
        routes: Sequence[BaseRoute] | None = None,
        middleware: Sequence[Middleware[Any]] | None = None,
        exception_handlers: Mapping[Any, ExceptionHandlerFn] | None = None,
        lifespan: Lifespan | None = None,
        *,
        max_body_size: int | None = None,
    ) -> None:
        self.router: Router = Router(list(routes or []), lifespan=lifespan)
        self.max_body_size = max_body_size
        # The body limit is RequestBodyLimitMiddleware's (Starlette's layer, so
        # routes can raise it); the core's own limit stays off.
        self._init_application(
            debug=debug,
            middleware=middleware,
            exception_handlers=dict(exception_handlers or {}),
            limits=RequestLimits(max_body_size=None),
        )

    def _init_application(
        self,
        *,
        debug: bool,
        middleware: Sequence[Middleware[Any]] | None,
        exception_handlers: dict[Any, ExceptionHandlerFn],
        limits: Limits,
        root_path: str = "",
        asyncio_bridge: AsyncioBridge | None = None,
    ) -> None:
        """The state every application has, whichever constructor ran."""
        self.debug = debug
        self.state = State()
        self.exception_handlers: dict[Any, ExceptionHandlerFn] = exception_handlers
        self.user_middleware: list[Middleware[Any]] = list(middleware or [])
        self.middleware_stack: ASGIApp | None = None
        self.request_limits = limits
        self.root_path = root_path
        # The lifespan's app tasks (their nursery, the request watchdog) while it runs.
        self._app_tasks: AppTasks | None = None
        self._shutdown = ServerShutdown()
        # Made once: a bound method per request costs an object each time.
        self._on_timeout = self._answer_timeout
        # The asyncio loop (trioapi.asyncio_bridge): opened around the lifespan
        # when the app asks for it, or by open_asyncio_bridge() inside it.
        self.asyncio_bridge = asyncio_bridge
        self._bridge_wraps_lifespan = asyncio_bridge is not None
        # Inside a hypercorn trio worker (which imports the app's module, so
        # runs this, before it starts serving): apply the server layer's
        # fixes, among them the one that hands this app the worker's shutdown
        # trigger (trioapi.server; once per process, each logged).
        apply_hypercorn_fixes_if_served()

    # -- serving ---------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point. Each call runs in the scopes of ``trioapi._scopes``."""
        scope["app"] = self
        tasks = self._app_tasks
        if (
            tasks is not None
            and tasks.watchdog is not None
            and scope["type"] == "http"
            and self.middleware_stack is not None
            and self.asyncio_bridge is None
        ):
            # What a server sends while the lifespan runs: an HTTP request, in
            # one coroutine below this one (each level costs a small request
            # a few percent).
            if self.root_path:
                scope["root_path"] = self.root_path
            await serve_http(
                self.middleware_stack,
                scope,
                receive,
                send,
                self.request_limits,
                tasks.watchdog,
                tasks.nursery,
                self._on_timeout,
                self._shutdown,
            )
            return
        await self._serve_any(scope, receive, send)

    async def _serve_any(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Any call: the lifespan, a WebSocket, a request without the lifespan (a bare test call)."""
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
            if self.user_middleware:
                # The user's middleware sees the lifespan scope too, as in
                # Starlette; _LifespanSplit at the bottom of the stack serves it.
                await app(scope, receive, send)
            else:
                await self._serve_lifespan(scope, receive, send)
            return
        tasks = self._app_tasks
        app_nursery, watchdog = (None, None) if tasks is None else (tasks.nursery, tasks.watchdog)
        shutdown = self._shutdown
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
                            app_nursery=app_nursery,
                            watchdog=watchdog,
                            shutdown=shutdown,
                        )
                    )
            else:
                await serve_request(
                    app,
                    scope,
                    receive,
                    send,
                    limits=self.request_limits,
                    app_nursery=app_nursery,
                    watchdog=watchdog,
                    on_timeout=self._on_timeout,
                    shutdown=shutdown,
                )
        finally:
            if bridge is not None and loop_token is not None:
                bridge.exit_request(loop_token)

    async def _serve_lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The lifespan scope, after the user's middleware: run the lifespan in its nursery."""
        # Before the server accepts connections, for an app constructed before
        # hypercorn's worker was imported (trioapi.server; once per process).
        apply_hypercorn_fixes_if_served()
        # A new server run (or test client) starts with no shutdown begun,
        # even if an earlier one, on this same app object, shut down.
        self._shutdown = ServerShutdown()
        lifespan = self.router.lifespan_context
        if self._bridge_wraps_lifespan and self.asyncio_bridge is not None:
            lifespan = self.asyncio_bridge.wrap_lifespan(lifespan)
        await serve_lifespan(self, scope, receive, send, lifespan, self._set_app_tasks)

    def shutdown_trigger(
        self, trigger: Callable[[], Awaitable[object]], *, graceful_timeout: float | None = None
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

        Requests in flight go on; at hypercorn's hard cancel, ``graceful_timeout``
        seconds after the trigger, they are cancelled. A request that cannot
        be, because it waits on a worker thread, is answered 503 then (over
        HTTP/2 its stream is reset) when ``graceful_timeout`` is given, its
        result dropped when the thread returns, as for a deadline.

        Args:
            trigger: The async callable that returns when the server should stop.
            graceful_timeout: The server's ``graceful_timeout``, in seconds.
        """

        async def wait_then_begin_shutdown() -> None:
            await trigger()
            tasks = self._app_tasks
            nursery, watchdog = (None, None) if tasks is None else (tasks.nursery, tasks.watchdog)
            if graceful_timeout is not None and nursery is not None and watchdog is not None:
                cancel_at = trio.current_time() + graceful_timeout
                nursery.start_soon(self._answer_at_hard_cancel, watchdog, cancel_at)
            await self._shutdown.begin()

        return wait_then_begin_shutdown

    async def _answer_at_hard_cancel(self, watchdog: RequestWatchdog, cancel_at: float) -> None:
        # Just after the server's hard cancel: a request still without a
        # response then cannot be cancelled (it waits on a worker thread).
        await trio.sleep_until(cancel_at + STUCK_AFTER)
        watchdog.answer_unstarted(self._answer_unavailable)

    async def _answer_unavailable(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer 503 with the handler for status 503 or ``HTTPException``."""
        await self._answer_error(HTTPException(503), scope, receive, send)

    async def _answer_timeout(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a request whose deadline passed with the handler for ``RequestTimeout``.

        Looked up like any ``HTTPException``: a handler for status 504, then
        for ``RequestTimeout`` or its nearest base class (``HTTPException``),
        else the application's default answer.
        """
        await self._answer_error(RequestTimeout(), scope, receive, send)

    async def _answer_error(
        self, error: HTTPException, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """Answer ``error`` on a request's behalf with the handler registered for it."""
        from trioapi.concurrency import is_async_callable, run_in_threadpool
        from trioapi.requests import Request

        handler = self.exception_handlers.get(error.status_code)
        if handler is None:
            by_class = {k: v for k, v in self.exception_handlers.items() if isinstance(k, type)}
            handler = lookup_exception_handler(by_class, error)
        if handler is None:
            handler = ExceptionMiddleware(self.router).http_exception
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
        tasks = self._app_tasks
        return None if tasks is None else tasks.nursery

    def _set_app_tasks(self, tasks: AppTasks | None) -> None:
        self._app_tasks = tasks

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
            *self._body_limit_layers(),
            *self.user_middleware,
            Middleware(ExceptionMiddleware, handlers=handlers, debug=self.debug),
        ]
        app: ASGIApp = self.router
        if self.user_middleware:
            app = _LifespanSplit(self.router, self._serve_lifespan)
        for cls, args, kwargs in reversed(layers):
            app = cls(app, *args, **kwargs)
        return app

    def _body_limit_layers(self) -> list[Middleware[Any]]:
        if self.max_body_size is None:
            return []
        return [Middleware(RequestBodyLimitMiddleware, max_body_size=self.max_body_size)]

    # -- configuration -----------------------------------------------------

    def add_middleware(
        self, middleware_class: Callable[..., ASGIApp], *args: Any, **kwargs: Any
    ) -> None:
        """Add an ASGI middleware; the last one added is the outermost.

        Raises:
            TrioAPIError: the application has already started serving.
        """
        if self.middleware_stack is not None:
            name = getattr(middleware_class, "__name__", repr(middleware_class))
            raise TrioAPIError(
                f"Cannot add middleware {name} after an application has started: the "
                "middleware stack was built when the server started the app. Add it where the "
                "app is created, before it is served (not in a lifespan or an endpoint)."
            )
        self.user_middleware.insert(0, Middleware(middleware_class, *args, **kwargs))

    def add_exception_handler(
        self, exc_class_or_status_code: int | type[Exception], handler: ExceptionHandlerFn
    ) -> None:
        """Answer ``exc_class_or_status_code`` with ``handler(request, exc)``."""
        check_not_foreign("add_exception_handler()", exc_class_or_status_code)
        self.exception_handlers[exc_class_or_status_code] = handler

    # -- routes ------------------------------------------------------------

    @property
    def routes(self) -> list[BaseRoute]:
        """Every route of the app."""
        return self.router.routes

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        """The path of the route called ``name``, with ``path_params`` filled in."""
        path: URLPath = self.router.url_path_for(name, **path_params)
        return path

    def add_route(self, path: str, route: Callable[..., Any], **options: Any) -> None:
        """Add a plain (untyped) route whose endpoint takes a ``Request``."""
        self.router.add_route(path, route, **options)

    def add_websocket_route(
        self, path: str, route: Callable[..., Any], name: str | None = None
    ) -> None:
        """Add a plain WebSocket route whose endpoint takes a ``WebSocket``."""
        self.router.add_websocket_route(path, route, name=name)

    def mount(self, path: str, app: ASGIApp, name: str | None = None) -> None:
        """Serve ``app`` under ``path``.

        An ``a2wsgi.WSGIMiddleware`` (asyncio-only) is served by
        :class:`trioapi.middleware.wsgi.WSGIMiddleware` instead.
        """
        self.router.mount(path, app=app, name=name)

    def host(self, host: str, app: ASGIApp, name: str | None = None) -> None:
        """Serve ``app`` for requests to ``host``."""
        self.router.host(host, app=app, name=name)


class _LifespanSplit:
    """The bottom of a stack with user middleware: the lifespan scope to the app's runner.

    The lifespan has come through the user's middleware (which may wrap
    ``receive``/``send``); requests go on to the router.
    """

    def __init__(self, router: ASGIApp, serve_lifespan: ASGIApp) -> None:
        self.router = router
        self.serve_lifespan = serve_lifespan

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.serve_lifespan(scope, receive, send)
        else:
            await self.router(scope, receive, send)
