"""The server span and the HTTP server metrics around each request of an app."""

from __future__ import annotations

import time
from typing import Any

from opentelemetry import context, propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from trioapi.exceptions import HTTPException
from trioapi.telemetry._attributes import HEADER_GETTER, request_attributes
from trioapi.telemetry._cancel import cancel_reason, is_cancellation
from trioapi.telemetry._request import SCOPE_KEY, RequestTelemetry
from trioapi.telemetry._settings import TelemetrySettings
from trioapi.types import ASGIApp, Message, Receive, Scope, Send

# Semantic conventions' buckets for http.server.request.duration, in seconds.
_DURATION_BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)
_METRIC_KEYS = ("http.request.method", "url.scheme", "network.protocol.version")


class _Instruments:
    """The two HTTP server instruments of one app's meter."""

    def __init__(self, settings: TelemetrySettings) -> None:
        meter = settings.meter
        self.duration = meter.create_histogram(
            "http.server.request.duration",
            unit="s",
            description="Duration of HTTP server requests.",
            explicit_bucket_boundaries_advisory=list(_DURATION_BOUNDS),
        )
        self.active = meter.create_up_down_counter(
            "http.server.active_requests",
            unit="{request}",
            description="Number of active HTTP server requests.",
        )


class TelemetryMiddleware:
    """Wraps an app's whole middleware stack: one server span per HTTP request.

    The span is current while the app runs (so the app's own spans, logs and
    error handlers see it), continues the caller's trace from the
    propagation headers, and is named ``"{method} {route}"`` once routing has
    found the route. Requests ``exclude`` picks are passed through untouched.

    Args:
        app: The middleware stack.
        settings: The app's telemetry settings.
    """

    def __init__(self, app: ASGIApp, settings: TelemetrySettings) -> None:
        self.app = app
        self.settings = settings
        self._instruments: _Instruments | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request inside its server span. A checkpoint."""
        settings = self.settings
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if settings.exclude is not None and settings.exclude(scope):
            token = context.attach(context.Context())  # an excluded request records nothing
            try:
                await self.app(scope, receive, send)
            finally:
                context.detach(token)
            return
        await self._serve(scope, receive, send)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        settings = self.settings
        attributes = request_attributes(scope)
        method = attributes["http.request.method"]
        parent = propagate.extract(scope.get("headers", ()), getter=HEADER_GETTER)
        span = (
            settings.tracer.start_span(
                method, context=parent, kind=SpanKind.SERVER, attributes=attributes
            )
            if settings.tracing
            else trace.INVALID_SPAN
        )
        request = RequestTelemetry(settings, trace.set_span_in_context(span, parent))
        scope[SCOPE_KEY] = request
        instruments = None
        if settings.metrics:
            instruments = self._instruments or _Instruments(settings)
            self._instruments = instruments
            active = {key: attributes[key] for key in _METRIC_KEYS[:2]}
            instruments.active.add(1, active)
        status: list[int] = []

        async def send_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        started = time.perf_counter()
        token = context.attach(request.server_context)
        error: BaseException | None = None
        try:
            await self.app(scope, receive, send_status)
        except BaseException as exc:
            error = exc
            if is_cancellation(exc):
                request.cancelled = cancel_reason(scope)
            raise
        finally:
            context.detach(token)
            final = _finish(span, request, attributes, status, error)
            if instruments is not None:
                instruments.active.add(-1, active)
                instruments.duration.record(time.perf_counter() - started, final)
            span.end()


def _finish(
    span: trace.Span,
    request: RequestTelemetry,
    attributes: dict[str, Any],
    status: list[int],
    error: BaseException | None,
) -> dict[str, Any]:
    """Record the outcome on the span; the metric attributes."""
    code = status[0] if status else (500 if error is not None and not request.cancelled else None)
    final = {key: attributes[key] for key in _METRIC_KEYS if key in attributes}
    if request.route is not None:
        final["http.route"] = request.route
        span.set_attribute("http.route", request.route)
        span.update_name(f"{attributes['http.request.method']} {request.route}")
    if code is not None:
        final["http.response.status_code"] = code
        span.set_attribute("http.response.status_code", code)
    error_type = request.error_type
    if request.cancelled is not None:
        # Stopped from outside, not failed: the reason is the attribute.
        span.set_attribute("trioapi.request.cancelled", request.cancelled)
        error = None
    if error is not None and not isinstance(error, HTTPException):
        error_type = type(error).__qualname__
    if error_type is None and code is not None and code >= 500:
        error_type = str(code)
    if error_type is not None and (code is None or code >= 500):
        final["error.type"] = error_type
        span.set_attribute("error.type", error_type)
        span.set_status(Status(StatusCode.ERROR))
    return final
