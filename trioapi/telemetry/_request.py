"""One request's telemetry: its server span's context and the spans of its operations.

The server span's middleware puts a ``RequestTelemetry`` in the ASGI scope
under ``SCOPE_KEY`` and in the OpenTelemetry context under ``REQUEST_KEY``;
an ``APIRoute`` finds it in the scope (one dict look-up, so a request
without telemetry pays nothing more) and records the dependencies,
endpoint and serialization spans as children of the server span.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any, cast

from opentelemetry import context, trace
from opentelemetry._logs import Logger
from opentelemetry.context import Context, get_value
from opentelemetry.trace import Span, Status, StatusCode, Tracer

from trioapi.concurrency import run_in_threadpool
from trioapi.dependencies.plan import StepKind
from trioapi.exceptions import (
    HTTPException,
    RequestValidationError,
    ValidationException,
    WebSocketException,
    WebSocketRequestValidationError,
)
from trioapi.telemetry._api import REQUEST_KEY, ParsedBodyView, TelemetryData
from trioapi.telemetry._logs import exception_type, log_validation_failure
from trioapi.telemetry._routes import route_template
from trioapi.telemetry._settings import TelemetrySettings
from trioapi.types import Scope
from trioapi.websockets import WebSocket, WebSocketDisconnect

_GENERATORS = frozenset({StepKind.ASYNC_GEN, StepKind.SYNC_GEN})

#: The ASGI scope key under which a request's ``RequestTelemetry`` travels.
SCOPE_KEY = "trioapi.telemetry"


def function_name(function: Callable[..., Any]) -> str:
    """The ``code.function.name`` of ``function``: its module-qualified name."""
    function = getattr(function, "func", function)  # a functools.partial: what it calls
    module = getattr(function, "__module__", None)
    name = getattr(function, "__qualname__", None) or type(function).__qualname__
    return f"{module}.{name}" if module else name


def is_failure(exc: BaseException) -> bool:
    """Whether ``exc`` is a failure, not an answer (an HTTP error, a refused input, a goodbye)."""
    if isinstance(
        exc,
        HTTPException
        | WebSocketException
        | RequestValidationError
        | WebSocketRequestValidationError,
    ):
        return False
    if isinstance(exc, WebSocketDisconnect):
        return exc.code not in (1000, 1001)  # a normal close; 1006 and the rest are not
    return True


def mark_failed(span: Span, exc: BaseException) -> None:
    """Set ``span``'s error status and ``error.type`` when ``exc`` is a failure."""
    if is_failure(exc) and span.is_recording():
        span.set_status(Status(StatusCode.ERROR))
        span.set_attribute("error.type", exception_type(exc))


class RequestTelemetry:
    """The telemetry state of one request or WebSocket connection.

    Attributes:
        settings: The app's telemetry settings.
        span: The server span (a non-recording one when tracing is off).
        context: The OpenTelemetry context of the request: its server span
            and this object.
        data: What :func:`trioapi.telemetry.get_telemetry_data` returns
            (``None`` once the request is over).
        logger: Where log records go, or ``None``.
        cancelled: Why the request was cancelled, when it was.
        after_response: Whether work runs after the response (request-scoped
            yield dependencies to tear down, background tasks).
    """

    __slots__ = (
        "_app",
        "_dependencies",
        "_entry",
        "_route",
        "_scope",
        "_token",
        "_tracer",
        "after_response",
        "cancelled",
        "context",
        "data",
        "logger",
        "settings",
        "span",
    )

    def __init__(
        self,
        settings: TelemetrySettings,
        app: Any,
        scope: Scope,
        span: Span,
        parent: context.Context,
        tracer: Tracer | None,
        logger: Logger | None,
    ) -> None:
        self.settings = settings
        self.span = span
        self.context = context.set_value(REQUEST_KEY, self, trace.set_span_in_context(span, parent))
        self.data: TelemetryData | None = TelemetryData()
        self.logger = logger
        self.cancelled: str | None = None
        self.after_response = False
        self._app = app
        self._scope = scope
        self._entry = dict(scope)  # the scope as it entered the app, for http.route
        self._route: str | bool | None = False  # False: not worked out yet
        self._tracer = tracer if settings.operation_spans and span.is_recording() else None
        self._dependencies: Span | None = None
        self._token: object = None

    @property
    def route(self) -> str | None:
        """The ``http.route`` (the matched route's template), worked out on first use."""
        route = self._route
        if route is False:
            if "router" not in self._scope:
                return None  # answered before routing (by a middleware): no route
            route = self._route = route_template(self._app, self._entry)
        return route  # type: ignore[return-value]

    def close(self) -> None:
        """The request is over: drop its data, so a context kept afterwards holds none of it."""
        self.data = None
        self._scope = self._entry = {}
        self._app = None

    def start_span(self, name: str, function: Callable[..., Any]) -> Span | None:
        """A child span of the server span, or ``None`` when operation spans are off."""
        tracer = self._tracer
        if tracer is None:
            return None
        return tracer.start_span(
            name,
            context=self.context,
            attributes={"code.function.name": function_name(function)},
        )

    @contextmanager
    def operation(self, name: str, function: Callable[..., Any]) -> Iterator[None]:
        """A child span of the server span, current inside the block.

        Args:
            name: The span's name (``trioapi.endpoint``...).
            function: The callable it is about (``code.function.name``).
        """
        span = self.start_span(name, function)
        if span is None:
            yield
            return
        token = context.attach(trace.set_span_in_context(span, self.context))
        try:
            yield
        except BaseException as exc:
            mark_failed(span, exc)
            raise
        finally:
            context.detach(token)
            span.end()

    async def serve_route(
        self,
        route: Any,
        connection: Any,
        serve: Callable[[Callable[[dict[str, Any]], Awaitable[Any]], Any], Awaitable[None]],
    ) -> None:
        """Serve an ``APIRoute`` or ``APIWebSocketRoute`` inside its operation spans.

        A checkpoint. A validation failure is logged (``trioapi.validation.failed``).

        Args:
            route: The route.
            connection: Its ``Request`` or ``WebSocket``.
            serve: Serves the request given the endpoint caller and this object.
        """
        data = self.data
        if data is not None:
            if isinstance(connection, WebSocket):
                data.websocket = connection
            else:
                data.request = connection
        self._begin_dependencies(route.endpoint)
        error: BaseException | None = None
        try:
            await serve(partial(self.call_endpoint, route), self)
        except ValidationException as exc:
            error = exc
            self._validation_failed(exc)
            raise
        except BaseException as exc:
            error = exc
            raise
        finally:
            self._end_dependencies(error)

    def solving(self, state: Any) -> None:
        """The body is read: the dependencies are about to be solved from ``state``."""
        if self.data is not None and state.body is not None:
            self.data.body = ParsedBodyView(state.body)
        plan = state.plan
        if any(plan.steps[index].kind in _GENERATORS for index in plan.early):
            self.after_response = True  # request-scoped yield dependencies: torn down after it

    def record_teardown(self, started: int, error: BaseException | None) -> None:
        """Record ``trioapi.request.teardown``: the work after the last body byte.

        Only for requests that had such work (background tasks, request-scoped
        yield dependencies). It records why it was cancelled, or what failed.

        Args:
            started: When the last body byte was sent (``time.time_ns()``).
            error: What ended the request, if anything did.
        """
        tracer = self._tracer
        if tracer is None or not self.after_response:
            return
        span = tracer.start_span("trioapi.request.teardown", self.context, start_time=started)
        if self.cancelled is not None:
            span.set_attribute("trioapi.request.cancelled", self.cancelled)
        elif error is not None:
            mark_failed(span, error)
        span.end()

    def _validation_failed(self, exc: ValidationException) -> None:
        errors = exc.errors()
        data = self.data
        if data is not None:
            data.errors = errors
            if data.body is None:
                data.body = getattr(exc, "body", None)
        if self.logger is not None:
            log_validation_failure(self.logger, self.context, self.route, len(errors))

    def _begin_dependencies(self, function: Callable[..., Any]) -> None:
        # Current until the endpoint is called: dependencies' own spans and logs
        # are its children.
        span = self.start_span("trioapi.dependencies", function)
        if span is None:
            return
        self._dependencies = span
        self._token = context.attach(trace.set_span_in_context(span, self.context))

    def _end_dependencies(self, exc: BaseException | None) -> None:
        span = self._dependencies
        if span is None:
            return
        self._dependencies = None
        if span.is_recording():
            if exc is not None:
                mark_failed(span, exc)
            span.end()
        context.detach(self._token)  # type: ignore[arg-type]

    async def call_endpoint(self, route: Any, kwargs: dict[str, Any]) -> Any:
        """Call ``route``'s endpoint inside the ``trioapi.endpoint`` span. A checkpoint.

        The dependencies span ends first. A ``def`` endpoint's span starts in
        its worker thread (Trio copies the context into it), as FastAPI's does.
        """
        span = self._dependencies
        if span is not None and span.is_recording():
            span.end()
        data = self.data
        if data is not None:
            data.values = kwargs
            data.errors = []
        endpoint = route.endpoint
        if route.is_async_endpoint or route.is_stream_endpoint:
            with self.operation("trioapi.endpoint", endpoint):
                if route.is_stream_endpoint:
                    return endpoint(**kwargs)
                return await endpoint(**kwargs)
        return await run_in_threadpool(self._call_in_thread, endpoint, kwargs)

    def _call_in_thread(self, endpoint: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
        with self.operation("trioapi.endpoint", endpoint):
            return endpoint(**kwargs)


def current_request(context: Context | None = None) -> RequestTelemetry | None:
    """The ``RequestTelemetry`` of the request ``context`` (default: the current one) is in."""
    return cast("RequestTelemetry | None", get_value(REQUEST_KEY, context))


def get_telemetry_data(context: Context | None = None) -> TelemetryData | None:
    """The data of the request an OpenTelemetry context belongs to.

    Args:
        context: The context to read (a log processor passes ``record.context``);
            the current one by default.

    Returns:
        The request's ``TelemetryData`` while trioapi handles it; ``None``
        outside a recorded request and once it is over, also for a context
        kept from it.
    """
    request = current_request(context)
    return None if request is None else request.data
