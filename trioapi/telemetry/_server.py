"""The server span, the HTTP server metrics and the unhandled-exception log of each request."""

from __future__ import annotations

import time
from typing import Any

from opentelemetry import context, propagate, trace
from opentelemetry.metrics import Histogram, Meter, UpDownCounter
from opentelemetry.trace import SpanKind, Status, StatusCode

from trioapi.background import task_runner
from trioapi.telemetry._api import REQUEST_KEY
from trioapi.telemetry._attributes import HEADER_GETTER, connection_attributes, request_attributes
from trioapi.telemetry._background import run_background_task
from trioapi.telemetry._cancel import cancel_reason, is_cancellation
from trioapi.telemetry._environment import configure_from_environment, serve_lifespan
from trioapi.telemetry._logs import exception_type, log_exception
from trioapi.telemetry._request import SCOPE_KEY, RequestTelemetry, is_failure, mark_failed
from trioapi.telemetry._settings import TelemetrySettings
from trioapi.types import ASGIApp, Message, Receive, Scope, Send

# Semantic conventions' buckets for http.server.request.duration, in seconds.
_DURATION_BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)
_METRIC_KEYS = ("http.request.method", "url.scheme", "network.protocol.version")


class _Instruments:
    """The two HTTP server instruments of one meter."""

    def __init__(self, meter: Meter) -> None:
        self.meter = meter
        self.duration: Histogram = meter.create_histogram(
            "http.server.request.duration",
            unit="s",
            description="Duration of HTTP server requests.",
            explicit_bucket_boundaries_advisory=list(_DURATION_BOUNDS),
        )
        self.active: UpDownCounter = meter.create_up_down_counter(
            "http.server.active_requests",
            unit="{request}",
            description="Number of active HTTP server requests.",
        )


class _Exchange:
    """One HTTP request's outcome as it is sent: finished at its last body byte."""

    __slots__ = ("active", "attributes", "instruments", "request", "started", "status")

    def __init__(
        self,
        request: RequestTelemetry,
        attributes: dict[str, Any],
        instruments: _Instruments | None,
    ) -> None:
        self.request = request
        self.attributes = attributes
        self.instruments = instruments
        self.status: int | None = None
        self.active = {key: attributes[key] for key in _METRIC_KEYS[:2]}
        self.started = time.perf_counter()
        if instruments is not None:
            instruments.active.add(1, self.active)

    def finish(self, error: BaseException | None) -> None:
        """End the span and record the metrics (once)."""
        request = self.request
        if self.started < 0:
            return
        duration = time.perf_counter() - self.started
        self.started = -1.0
        span = request.span
        failed = error is not None and request.cancelled is None and is_failure(error)
        code = self.status if self.status is not None else (500 if failed else None)
        final = {key: self.attributes[key] for key in _METRIC_KEYS if key in self.attributes}
        route = request.route
        if route is not None:
            final["http.route"] = route
            span.set_attribute("http.route", route)
            span.update_name(f"{span_method(self.attributes)} {route}")
        if code is not None:
            final["http.response.status_code"] = code
            span.set_attribute("http.response.status_code", code)
        if request.cancelled is not None:
            # Stopped from outside, not failed: the reason is the attribute.
            span.set_attribute("trioapi.request.cancelled", request.cancelled)
        error_type = exception_type(error) if failed and error is not None else None
        if error_type is None and code is not None and code >= 500:
            error_type = str(code)
        if error_type is not None and (code is None or code >= 500):
            final["error.type"] = error_type
            span.set_attribute("error.type", error_type)
            span.set_status(Status(StatusCode.ERROR))
        if self.instruments is not None:
            self.instruments.active.add(-1, self.active)
            self.instruments.duration.record(duration, final)
        span.end()


def span_method(attributes: dict[str, Any]) -> str:
    """The method part of a server span's name: ``HTTP`` for methods outside the known set."""
    method: str = attributes["http.request.method"]
    return "HTTP" if method == "_OTHER" else method


def _is_last(message: Message, trailers: bool) -> bool:
    kind = message["type"]
    if kind == "http.response.body":
        return not trailers and not bool(message.get("more_body", False))
    if kind == "http.response.trailers":
        return not bool(message.get("more_trailers", False))
    return bool(kind == "http.response.pathsend")


class TelemetryMiddleware:
    """Wraps an app's whole middleware stack: one server span per request or connection.

    The span is current while the app runs (so the app's own spans, logs and
    error handlers see it), continues the caller's trace from the
    propagation headers, and is named ``"{method} {route}"`` (``"WS {route}"``).
    An HTTP request's span and metrics end with its last body byte, before
    its background tasks and teardown. Requests ``exclude`` picks, and
    requests an outer app already records (a mounted app), are passed
    through.

    Args:
        app: The middleware stack.
        settings: The app's telemetry settings.
        owner: The application, whose routes name ``http.route``.
    """

    def __init__(self, app: ASGIApp, settings: TelemetrySettings, owner: Any) -> None:
        self.app = app
        self.settings = settings
        self.owner = owner
        self._instruments: _Instruments | None = None
        self._configure = settings.auto_configure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request inside its server span. A checkpoint."""
        kind = scope["type"]
        if self._configure:
            # The first call (the lifespan's startup, or the first request when
            # the lifespan does not pass through the middleware stack).
            self._configure = False
            configure_from_environment()
        if kind == "lifespan" and self.settings.auto_configure:
            await serve_lifespan(self.app, scope, receive, send)
            return
        if kind not in ("http", "websocket") or SCOPE_KEY in scope:
            await self.app(scope, receive, send)
            return
        settings = self.settings
        if settings.exclude is not None and settings.exclude(scope):
            await self._serve_excluded(scope, receive, send)
            return
        tracer = settings.tracer()
        logger = settings.logger()
        meter = settings.meter() if kind == "http" else None
        if tracer is None and meter is None and logger is None:
            await self.app(scope, receive, send)
            return
        # On top of the current context: an ASGI middleware around the app (or an
        # outer request calling in-process) is the parent when no header names one.
        parent = propagate.extract(scope.get("headers", ()), context.get_current(), HEADER_GETTER)
        if kind == "websocket":
            attributes = connection_attributes(scope)
            attributes["network.protocol.name"] = "websocket"
            name = "WS"
        else:
            attributes = request_attributes(scope, settings.method(scope.get("method", "GET")))
            name = span_method(attributes)
        span: trace.Span = trace.INVALID_SPAN
        if tracer is not None:
            span = tracer.start_span(name, parent, kind=SpanKind.SERVER, attributes=attributes)
        request = RequestTelemetry(settings, self.owner, scope, span, parent, tracer, logger)
        scope[SCOPE_KEY] = request
        token = context.attach(request.context)
        runner = task_runner.set(run_background_task)
        try:
            if kind == "websocket":
                await self._serve_websocket(request, scope, receive, send)
            else:
                await self._serve_http(request, attributes, meter, scope, receive, send)
        finally:
            task_runner.reset(runner)
            context.detach(token)
            request.close()
            del scope[SCOPE_KEY]

    async def _serve_excluded(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Recorded by nobody, not even a mounted app; spans its code makes keep
        # their parent, but it is no request of ours.
        scope[SCOPE_KEY] = None
        token = context.attach(context.set_value(REQUEST_KEY, None))
        try:
            await self.app(scope, receive, send)
        finally:
            context.detach(token)
            del scope[SCOPE_KEY]

    def _instruments_of(self, meter: Meter | None) -> _Instruments | None:
        if meter is None:
            return None
        instruments = self._instruments
        if instruments is None or instruments.meter is not meter:
            instruments = self._instruments = _Instruments(meter)
        return instruments

    async def _serve_http(
        self,
        request: RequestTelemetry,
        attributes: dict[str, Any],
        meter: Meter | None,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        exchange = _Exchange(request, attributes, self._instruments_of(meter))
        trailers = False
        last_byte = 0  # time_ns() of the last body byte, once the span ended there

        async def watch_send(message: Message) -> None:
            nonlocal trailers, last_byte
            if message["type"] == "http.response.start":
                exchange.status = message["status"]
                trailers = bool(message.get("trailers", False))
            # A 5xx waits for the error that caused it (it follows at once) to name it.
            last = _is_last(message, trailers) and (exchange.status or 0) < 500
            try:
                await send(message)
            finally:
                # Also when the last send is interrupted (a client that leaves as
                # it is sent): the response was handed over, the rest is teardown.
                if last:
                    exchange.finish(None)
                    last_byte = time.time_ns()

        error: BaseException | None = None
        try:
            await self.app(scope, receive, watch_send)
        except BaseException as exc:
            error = exc
            self._failed(request, scope, exc, "http")
            raise
        finally:
            exchange.finish(error)
            if last_byte:
                request.record_teardown(last_byte, error)

    async def _serve_websocket(
        self, request: RequestTelemetry, scope: Scope, receive: Receive, send: Send
    ) -> None:
        span = request.span
        error: BaseException | None = None
        try:
            await self.app(scope, receive, send)
        except BaseException as exc:
            error = exc
            self._failed(request, scope, exc, "websocket")
            raise
        finally:
            route = request.route
            if route is not None:
                span.set_attribute("http.route", route)
                span.update_name(f"WS {route}")
            if request.cancelled is not None:
                span.set_attribute("trioapi.request.cancelled", request.cancelled)
            elif error is not None:
                mark_failed(span, error)
            span.end()

    def _failed(
        self, request: RequestTelemetry, scope: Scope, exc: BaseException, kind: str
    ) -> None:
        if is_cancellation(exc):
            request.cancelled = cancel_reason(scope)
        elif is_failure(exc):
            log_exception(request.logger, request.context, request.route, exc, kind)
