"""``APIRoute`` and ``APIWebSocketRoute``: typed path operations.

Everything a route needs per request is prepared in ``__init__``: the
analysed signature (:attr:`APIRoute.dependant`), the execution plan, how the
body is read, and the response serializer. The per-request handler only reads,
validates, calls and responds.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from enum import IntEnum
from functools import partial
from typing import Any

from pydantic import PydanticSchemaGenerationError, TypeAdapter
from typing_extensions import Unpack

from trioapi._compat import uses_pydantic_v1
from trioapi._foreign import check_not_foreign
from trioapi._route_scope import RouteLimits
from trioapi._routing.endpoint_response import ResponseBuilder
from trioapi._routing.endpoint_stream import StreamBuilder, is_stream_endpoint, stream_item_type
from trioapi._routing.response_model import (
    ResponseSerializer,
    build_dump_options,
    build_response_serializer,
    invalid_model_message,
    is_body_allowed_for_status_code,
    resolve_response_model,
)
from trioapi._routing.route_plans import PlannedRoute
from trioapi._routing.routes import Match, Route, WebSocketRoute, path_matching
from trioapi._routing.unique_id import generate_unique_id
from trioapi._scopes import get_request_context, open_request_nursery
from trioapi._settings import DEFAULT_LIMITS, LIMIT_NAMES, LimitOptions, Limits, limits_from
from trioapi.concurrency import run_in_threadpool
from trioapi.datastructures import Default, DefaultPlaceholder
from trioapi.dependencies.body import BodyPlan, build_body_plan, read_body
from trioapi.dependencies.call_kinds import call_kind
from trioapi.dependencies.plan import Plan
from trioapi.dependencies.solver import RequestSolution, call_root, solve_and_run
from trioapi.exceptions import (
    EndpointContext,
    PydanticV1NotSupportedError,
    RequestValidationError,
    TrioAPIError,
    ValidationException,
    WebSocketRequestValidationError,
)
from trioapi.nurseries import needs_request_nursery
from trioapi.params import Depends
from trioapi.requests import Request
from trioapi.responses import JSONResponse, Response
from trioapi.types import Receive, Scope, Send
from trioapi.websockets import WebSocket

__all__ = ["APIRoute", "APIWebSocketRoute"]

RouteHandler = Callable[[Request], Awaitable[Response]]


def _endpoint_name(endpoint: Callable[..., Any]) -> str:
    return getattr(endpoint, "__name__", type(endpoint).__name__)


def _unwrap_default(value: Any) -> Any:
    return value.value if isinstance(value, DefaultPlaceholder) else value


def endpoint_context(endpoint: Callable[..., Any], method: str, path: str) -> EndpointContext:
    """Where ``endpoint`` is defined, and its route as ``"GET /items/{item_id}"``."""
    context = EndpointContext(function=_endpoint_name(endpoint), path=f"{method} {path}")
    try:
        function = inspect.unwrap(endpoint)
        context["file"] = inspect.getsourcefile(function) or ""
        context["line"] = inspect.getsourcelines(function)[1]
    except (TypeError, OSError):  # a builtin, a callable object, or source not on disk
        pass
    return context


def _mount_prefix(scope: Scope) -> str:
    # A mounted sub-app's routes are named with the mount path, as FastAPI does.
    return str(scope.get("root_path", "")).rstrip("/")


def _request_error(errors: list[dict[str, Any]], body: Any) -> ValidationException:
    return RequestValidationError(errors, body=body)


def _websocket_error(errors: list[dict[str, Any]], body: Any) -> ValidationException:
    del body  # a WebSocket has no body
    return WebSocketRequestValidationError(errors)


async def _call_endpoint(route: APIRoute | APIWebSocketRoute, kwargs: dict[str, Any]) -> Any:
    endpoint = route.endpoint
    if route.is_stream_endpoint:
        return endpoint(**kwargs)  # a generator: its body runs as the response streams
    if route.is_async_endpoint:
        return await endpoint(**kwargs)
    return await run_in_threadpool(endpoint, **kwargs)


def _coroutine_caller(route: APIRoute) -> Callable[[dict[str, Any]], Awaitable[Any]]:
    """``_call_endpoint`` for an async endpoint: its coroutine, awaited by the caller itself."""

    def call(kwargs: dict[str, Any]) -> Awaitable[Any]:
        awaitable: Awaitable[Any] = route.endpoint(**kwargs)
        return awaitable

    return call


async def _serve(
    route: APIRoute, request: Request, send: Send | None, kept: list[Response] | None = None
) -> None:
    """Read, validate, call the endpoint, and send its response with ``send``.

    The response is sent inside the request-scoped yield dependencies, after
    the function-scoped ones have closed. With ``send=None`` it is appended
    to ``kept`` instead (``get_route_handler`` returns it).
    """
    # Set by TrioAPI(telemetry=...) only: without it a request pays this one look-up.
    telemetry = request.scope.get("trioapi.telemetry")
    if telemetry is None or not route.records_operations:
        await _serve_plain(route, request, send, kept, route._endpoint_caller, None)
    else:
        await telemetry.serve_route(
            route, request, partial(_serve_plain, route, request, send, kept)
        )


async def _serve_plain(
    route: APIRoute,
    request: Request,
    send: Send | None,
    kept: list[Response] | None,
    call_endpoint: Callable[[dict[str, Any]], Awaitable[Any]],
    telemetry: Any,
) -> None:
    plan = route.plans.for_scope(request.scope)
    body_plan = route.body_plan
    if body_plan is None:
        # The setting matters only for a plan with groups to run concurrently
        # (RequestSolution turns it off for the others): looked up only then.
        concurrent = (
            route._route_limits.current(request.scope).concurrent_dependencies
            if plan.groups
            else True
        )
        state = RequestSolution(request, plan, None, False, concurrent)
    else:
        limits = route._route_limits.current(request.scope)
        body = await read_body(request, body_plan, limits)
        state = RequestSolution(
            request, plan, body, body_plan.embed, limits.concurrent_dependencies
        )
    if telemetry is not None:
        telemetry.solving(state)

    try:
        if plan.early or plan.late or telemetry is not None:
            respond = partial(
                route.response_builder.respond,
                state,
                request,
                send,
                kept,
                telemetry,
                route.endpoint,
            )
            await solve_and_run(
                plan,
                state,
                call_endpoint=call_endpoint,
                respond=respond,
                error_class=_request_error,
            )
        else:
            # No dependencies to nest the response in: what solve_and_run
            # does for such a plan, without its call and the partial.
            result = await call_root(plan, state, call_endpoint, _request_error)
            await route.response_builder.respond(state, request, send, kept, None, None, result)
    except ValidationException as exc:
        _name_endpoint(exc, route, request.scope)
        raise


def _name_endpoint(exc: ValidationException, route: APIRoute, scope: Scope) -> None:
    if exc.endpoint_ctx is None:  # as FastAPI: the error names its endpoint and route
        path = _mount_prefix(scope) + route.path
        exc.set_endpoint_context(endpoint_context(route.endpoint, scope["method"], path))


async def _no_answer(result: Any) -> None:
    del result  # a WebSocket endpoint answers through the socket itself


class _HTTPHandler:
    """The ASGI app of one ``APIRoute``: the response is sent inside the request's scopes."""

    __slots__ = ("route",)

    def __init__(self, route: APIRoute) -> None:
        self.route = route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request. A checkpoint; cancellation tears the dependencies down."""
        route = self.route
        if route.scope_settings is not None:
            route._route_limits.apply(scope)
        if route.needs_request_nursery:
            async with open_request_nursery(scope):
                await _serve(route, Request(scope, receive, send), send)
            return
        # Set by TrioAPI(telemetry=...) only: without it a request pays this one look-up.
        telemetry = scope.get("trioapi.telemetry")
        if telemetry is not None and route.records_operations:
            await _serve(route, Request(scope, receive, send), send)
            return
        bare = route._bare_plan
        if bare is None or route.plans.for_scope(scope) is not bare:
            # What _serve does without telemetry, without its call.
            request = Request(scope, receive, send)
            await _serve_plain(route, request, send, None, route._endpoint_caller, None)
            return
        # An endpoint without parameters or dependencies: what _serve_plain
        # does for it, without the Request, the solution and their calls.
        try:
            result = await route.endpoint()
            builder = route.response_builder
            if not builder.synchronous:
                response = await builder.build(result)
            else:
                made = builder.build_parts(result)
                if isinstance(made, tuple):
                    # What Response.__call__ sends for it, without the response.
                    status, headers, body = made
                    await send(
                        {"type": "http.response.start", "status": status, "headers": headers}
                    )
                    await send({"type": "http.response.body", "body": body})
                    return
                response = made
            await response(scope, receive, send)
        except ValidationException as exc:
            _name_endpoint(exc, route, scope)
            raise


class _RouteHandlerApp:
    """The ASGI app of a route whose class overrides ``get_route_handler``."""

    __slots__ = ("handler", "limits")

    def __init__(self, handler: RouteHandler, limits: RouteLimits | None) -> None:
        self.handler = handler
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Call the handler for the response, then send it. A checkpoint."""
        if self.limits is not None:
            self.limits.apply(scope)
        # Always open: a custom handler may reach the nursery in ways no plan shows.
        async with open_request_nursery(scope):
            response = await self.handler(Request(scope, receive, send))
            await response(scope, receive, send)


class APIRoute(PlannedRoute, Route):
    """A path operation: FastAPI's ``APIRoute``, with the same attributes.

    Args:
        path: The path, with ``{param}`` segments.
        endpoint: The path operation function (``def`` runs in a worker thread).
        **options: Those of :class:`~trioapi._routing.route_options.RouteOptions`,
            plus ``methods`` and ``dependency_overrides_provider``. The
            request settings (``timeout=``, ``max_body_size=``, ...,
            ``limits=``; see :class:`trioapi.Limits`) are kept as
            :attr:`limits` and each as an attribute of its own name
            (``route.timeout``); those not given are the app's.

    Raises:
        TrioAPIError: a parameter, dependency, status code or response model
            is declared in a way that cannot work.
    """

    requires_leading_slash = False  # callbacks and webhooks are not served paths
    # Telemetry records its dependency, endpoint and serialization spans.
    records_operations = True

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        response_model: Any = Default(None),
        status_code: int | None = None,
        tags: list[Any] | None = None,
        dependencies: Sequence[Depends] | None = None,
        summary: str | None = None,
        description: str | None = None,
        response_description: str = "Successful Response",
        responses: dict[int | str, dict[str, Any]] | None = None,
        deprecated: bool | None = None,
        name: str | None = None,
        methods: Sequence[str] | set[str] | None = None,
        operation_id: str | None = None,
        response_model_include: Any = None,
        response_model_exclude: Any = None,
        response_model_by_alias: bool = True,
        response_model_exclude_unset: bool = False,
        response_model_exclude_defaults: bool = False,
        response_model_exclude_none: bool = False,
        include_in_schema: bool = True,
        response_class: type[Response] | DefaultPlaceholder = Default(JSONResponse),
        dependency_overrides_provider: Any | None = None,
        callbacks: list[Any] | None = None,
        openapi_extra: dict[str, Any] | None = None,
        generate_unique_id_function: Callable[[Any], str] | DefaultPlaceholder = Default(
            generate_unique_id
        ),
        **settings: Unpack[LimitOptions],
    ) -> None:
        if not callable(endpoint):
            raise TrioAPIError(
                f"{path}: the endpoint {endpoint!r} is not callable. Pass a function."
            )
        check_not_foreign(f"{path}: response_class", _unwrap_default(response_class))
        check_not_foreign(f"{path}: dependencies=", *(dependencies or ()))
        self.response_model = resolve_response_model(endpoint, response_model)
        self.summary = summary
        self.response_description = response_description
        self.deprecated = deprecated
        self.operation_id = operation_id
        self.response_model_include = response_model_include
        self.response_model_exclude = response_model_exclude
        self.response_model_by_alias = response_model_by_alias
        self.response_model_exclude_unset = response_model_exclude_unset
        self.response_model_exclude_defaults = response_model_exclude_defaults
        self.response_model_exclude_none = response_model_exclude_none
        self.response_class = response_class
        self.dependency_overrides_provider = dependency_overrides_provider
        self.callbacks = callbacks
        self.openapi_extra = openapi_extra
        self.generate_unique_id_function = generate_unique_id_function
        self._init_limits(limits_from(settings, type(self).__name__))
        self.tags = tags or []
        self.responses = responses or {}
        self.dependencies = list(dependencies or [])
        route_name = _endpoint_name(endpoint) if name is None else name
        super().__init__(
            path,
            endpoint=_HTTPHandler(self),
            name=route_name,
            include_in_schema=include_in_schema,
        )
        # FastAPI answers exactly the methods given (no implicit HEAD for GET).
        self.methods: set[str] = {method.upper() for method in (methods or ["GET"])}
        self.endpoint = endpoint
        self.is_async_endpoint = call_kind(endpoint).is_coroutine
        self.is_stream_endpoint = is_stream_endpoint(endpoint)
        # Made once: a closure per request costs more than the call it makes.
        self._endpoint_caller: Callable[[dict[str, Any]], Awaitable[Any]] = (
            _coroutine_caller(self)
            if self.is_async_endpoint and not self.is_stream_endpoint
            else partial(_call_endpoint, self)
        )
        self.unique_id = self.operation_id or _unwrap_default(generate_unique_id_function)(self)
        self.status_code = int(status_code) if isinstance(status_code, IntEnum) else status_code
        self.description = self._description(description)
        self.label = f"{','.join(sorted(self.methods))} {self.path}"
        self.rebuild()

    def _init_limits(self, limits: Limits) -> None:
        # The route's settings, its router's and include calls' merged in (the
        # app's are merged per request, trioapi._route_scope).
        self.limits = limits
        # FastAPI's APIRoute has strict_content_type as an attribute: each
        # setting is one, NOT_GIVEN when the app's applies.
        for name in LIMIT_NAMES:
            setattr(self, name, getattr(limits, name))
        # None when the route gives no setting: nothing to apply per request.
        self.scope_settings: Limits | None = None if limits.is_empty else limits
        self._route_limits = RouteLimits(limits)

    def get_route_handler(self) -> RouteHandler:
        """FastAPI's extension point: a coroutine function ``request -> Response``.

        Subclasses override it to wrap the handler (custom ``Request``
        classes, timing, error translation). A route whose class overrides it
        has its request-scoped ``yield`` dependencies closed when the handler
        returns, before the response is sent (a handler that returns the
        response cannot keep them open around the sending); routes that do
        not override it close them after the response and background tasks.
        """
        route = self

        async def route_handler(request: Request) -> Response:
            responses: list[Response] = []
            await _serve(route, request, None, responses)
            return responses[0]

        return route_handler

    def rebuild(self) -> None:
        """Recompile the route after its ``dependencies`` (or response settings) changed.

        Everything worked out at registration is worked out again: the
        dependency plan, the body plan, the response serializer.
        """
        self._build_typed_parts()
        if type(self).get_route_handler is not APIRoute.get_route_handler:
            limits = None if self.scope_settings is None else self._route_limits
            self.app = _RouteHandlerApp(self.get_route_handler(), limits)

    def _description(self, description: str | None) -> str:
        text = description or inspect.cleandoc(self.endpoint.__doc__ or "")
        # A form feed ends the part of a docstring meant for the API docs.
        return text.split("\f")[0].strip()

    def _build_typed_parts(self) -> None:
        self.response_serializer = self._build_serializer()
        self.response_field: TypeAdapter[Any] | None = (
            self.response_serializer.type_adapter if self.response_serializer else None
        )
        self.response_fields = self._build_response_fields()
        self.compile_plans(self.path_format, self.label)
        self.needs_request_nursery = needs_request_nursery(self.dependant)
        self.body_plan: BodyPlan | None = build_body_plan(self.dependant)
        # The plan when the endpoint is awaited with no arguments and nothing
        # around it: then a request needs no Request object and no solution.
        self._bare_plan: Plan | None = None
        if self.body_plan is None and self.is_async_endpoint and not self.is_stream_endpoint:
            self._bare_plan = self.plans.bare_plan
        self.body_field = self.plans.body_field(self.body_plan, self.unique_id)
        response_class = _unwrap_default(self.response_class)
        stream = None
        if self.is_stream_endpoint:
            stream = StreamBuilder(
                response_class, stream_item_type(self.endpoint), self._stream_dump_options()
            )
        self.response_builder = ResponseBuilder(
            response_class, self.status_code, self.response_serializer, stream
        )

    def _stream_dump_options(self) -> dict[str, Any]:
        # Streamed items follow the route's response_model_* options too.
        return build_dump_options(
            include=self.response_model_include,
            exclude=self.response_model_exclude,
            by_alias=self.response_model_by_alias,
            exclude_unset=self.response_model_exclude_unset,
            exclude_defaults=self.response_model_exclude_defaults,
            exclude_none=self.response_model_exclude_none,
        )

    def _build_serializer(self) -> ResponseSerializer | None:
        if not self.response_model:
            return None
        if not is_body_allowed_for_status_code(self.status_code):
            raise TrioAPIError(
                f"{self.label}: status code {self.status_code} must not have a response body, "
                f"but the route has a response model ({self.response_model!r}). Pass "
                f"response_model=None, or use a status code that allows a body."
            )
        return build_response_serializer(
            self.response_model,
            include=self.response_model_include,
            exclude=self.response_model_exclude,
            by_alias=self.response_model_by_alias,
            exclude_unset=self.response_model_exclude_unset,
            exclude_defaults=self.response_model_exclude_defaults,
            exclude_none=self.response_model_exclude_none,
            in_thread=not self.is_async_endpoint,
        )

    def _build_response_fields(self) -> dict[int | str, TypeAdapter[Any]]:
        fields: dict[int | str, TypeAdapter[Any]] = {}
        for code, response in self.responses.items():
            if not isinstance(response, dict):
                raise TrioAPIError(
                    f"{self.label}: responses[{code!r}] is {response!r}, but an additional "
                    f"response must be a dict. Write it as {{'model': ..., 'description': ...}}."
                )
            model = response.get("model")
            if model is None:
                continue
            if not is_body_allowed_for_status_code(code):
                raise TrioAPIError(
                    f"{self.label}: responses[{code!r}] has a model, but status {code} must not "
                    f"have a body. Remove 'model' from that response."
                )
            if uses_pydantic_v1(model):
                raise PydanticV1NotSupportedError(
                    f"{self.label}: the model of responses[{code!r}] is or holds a pydantic.v1 "
                    f"model, which is not supported. Port it to pydantic v2."
                )
            try:
                fields[code] = TypeAdapter(model)
            except PydanticSchemaGenerationError:
                message = invalid_model_message(model)
                raise TrioAPIError(f"{self.label}: responses[{code!r}]: {message}") from None
        return fields

    @path_matching
    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """As the toolkit route's, with ``scope["route"]`` set to this route (as FastAPI does)."""
        match, child_scope = super().matches(scope)
        if match is not Match.NONE:
            child_scope["route"] = self
        return match, child_scope


class _WebSocketHandler:
    """The ASGI app of one ``APIWebSocketRoute``."""

    __slots__ = ("route",)

    def __init__(self, route: APIWebSocketRoute) -> None:
        self.route = route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one WebSocket session. A checkpoint."""
        route = self.route
        websocket = WebSocket(scope, receive, send)
        plan = route.plans.for_scope(scope)
        # A WebSocket route has no settings of its own: the app's apply.
        context = get_request_context(scope)
        limits = DEFAULT_LIMITS if context is None else context.limits
        state = RequestSolution(websocket, plan, None, False, limits.concurrent_dependencies)

        async def solve(call_endpoint: Callable[[dict[str, Any]], Awaitable[Any]], _: Any) -> None:
            await solve_and_run(
                plan,
                state,
                call_endpoint=call_endpoint,
                respond=_no_answer,
                error_class=_websocket_error,
            )

        telemetry = scope.get("trioapi.telemetry")  # set by TrioAPI(telemetry=...) only
        try:
            async with open_request_nursery(scope):
                if telemetry is None:
                    await solve(partial(_call_endpoint, route), None)
                else:
                    await telemetry.serve_route(route, websocket, solve)
        except ValidationException as exc:
            if exc.endpoint_ctx is None:  # as for HTTP routes; FastAPI names them "WS"
                path = _mount_prefix(scope) + route.path
                exc.set_endpoint_context(endpoint_context(route.endpoint, "WS", path))
            raise


class APIWebSocketRoute(PlannedRoute, WebSocketRoute):
    """A typed WebSocket endpoint: parameters and dependencies as for ``APIRoute``.

    Validation failures raise ``WebSocketRequestValidationError``, which the
    application answers by closing the socket with code 1008.
    """

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        name: str | None = None,
        dependencies: Sequence[Depends] | None = None,
        dependency_overrides_provider: Any | None = None,
    ) -> None:
        route_name = _endpoint_name(endpoint) if name is None else name
        super().__init__(path, endpoint=_WebSocketHandler(self), name=route_name)
        self.endpoint = endpoint
        self.is_async_endpoint = call_kind(endpoint).is_coroutine
        self.is_stream_endpoint = False
        self.dependencies = list(dependencies or [])
        self.dependency_overrides_provider = dependency_overrides_provider
        self.rebuild()

    def rebuild(self) -> None:
        """Recompile the route's dependency plan after its ``dependencies`` changed."""
        self.compile_plans(self.path_format, f"WEBSOCKET {self.path}")

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """As the toolkit route's, with ``scope["route"]`` set to this route (as FastAPI does)."""
        match, child_scope = super().matches(scope)
        if match is not Match.NONE:
            child_scope["route"] = self
        return match, child_scope
