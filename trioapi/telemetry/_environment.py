"""``auto_configure``: set OpenTelemetry's global providers up from the standard ``OTEL_*`` variables.

Turned on by ``TrioAPI(telemetry={"auto_configure": True})`` or
``TRIOAPI_OTEL_AUTO_CONFIGURE=true``, when the app is first called (its
lifespan's startup, or its first request). A
signal whose global provider is already set up (by an agent, the app, a
vendor) is left alone; the others get an SDK provider with the resource of
``OTEL_SERVICE_NAME`` / ``OTEL_RESOURCE_ATTRIBUTES`` and the exporter named
by ``OTEL_TRACES_EXPORTER`` / ``OTEL_METRICS_EXPORTER`` / ``OTEL_LOGS_EXPORTER``:
``otlp`` (the default: OTLP over HTTP, configured by ``OTEL_EXPORTER_OTLP_*``;
needs ``opentelemetry-exporter-otlp-proto-http``), ``console`` or ``none``.
``OTEL_SDK_DISABLED=true`` turns it all off. The providers made here live as
long as the process (a second app reuses them) and flush at its exit.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from opentelemetry import _logs, metrics, trace

from trioapi.telemetry._settings import TelemetryConfigError, is_configured
from trioapi.types import ASGIApp, Message, Receive, Scope, Send

_OTLP_PACKAGE = "opentelemetry-exporter-otlp-proto-http"

# The providers this process made, to flush at the end of each lifespan.
_made: list[Any] = []


def _exporter_name(variable: str) -> str:
    return os.environ.get(variable, "otlp").strip().lower() or "otlp"


def _otlp(module: str, name: str) -> Any:
    try:
        imported = __import__(f"opentelemetry.exporter.otlp.proto.http.{module}", fromlist=[name])
    except ImportError as exc:
        raise TelemetryConfigError(
            f"TrioAPI(telemetry=...) auto_configure: the OTLP exporter is not installed. "
            f"Install it (`pip install {_OTLP_PACKAGE}`), or name another exporter "
            f"(OTEL_TRACES_EXPORTER=console or none, and the same for metrics and logs)."
        ) from exc
    return getattr(imported, name)()


def _exporter(signal: str, variable: str, console: Callable[[], Any], otlp: tuple[str, str]) -> Any:
    name = _exporter_name(variable)
    if name == "none":
        return None
    if name == "console":
        return console()
    if name == "otlp":
        return _otlp(*otlp)
    raise TelemetryConfigError(
        f"TrioAPI(telemetry=...) auto_configure: {variable}={name!r} is not an exporter "
        f"trioapi sets up for {signal}; use otlp, console or none."
    )


def _tracer_provider(resource: Any) -> Any:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    exporter = _exporter(
        "traces",
        "OTEL_TRACES_EXPORTER",
        ConsoleSpanExporter,
        ("trace_exporter", "OTLPSpanExporter"),
    )
    if exporter is None:
        return None
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def _meter_provider(resource: Any) -> Any:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import (
        ConsoleMetricExporter,
        PeriodicExportingMetricReader,
    )

    exporter = _exporter(
        "metrics",
        "OTEL_METRICS_EXPORTER",
        ConsoleMetricExporter,
        ("metric_exporter", "OTLPMetricExporter"),
    )
    if exporter is None:
        return None
    return MeterProvider(
        resource=resource, metric_readers=[PeriodicExportingMetricReader(exporter)]
    )


def _logger_provider(resource: Any) -> Any:
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, ConsoleLogRecordExporter

    exporter = _exporter(
        "logs",
        "OTEL_LOGS_EXPORTER",
        ConsoleLogRecordExporter,
        ("_log_exporter", "OTLPLogExporter"),
    )
    if exporter is None:
        return None
    provider = LoggerProvider(resource=resource)
    provider.add_log_record_processor(BatchLogRecordProcessor(exporter))
    return provider


def configure_from_environment() -> None:
    """Set each global provider not set up yet from the ``OTEL_*`` variables (see the module).

    Raises:
        TelemetryConfigError: an exporter is unknown, or OTLP's is not installed.
    """
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return
    from opentelemetry.sdk.resources import Resource

    resource = Resource.create()
    signals = (
        (trace.get_tracer_provider, trace.set_tracer_provider, _tracer_provider),
        (metrics.get_meter_provider, metrics.set_meter_provider, _meter_provider),
        (_logs.get_logger_provider, _logs.set_logger_provider, _logger_provider),
    )
    for get, put, make in signals:
        if is_configured(get()):
            continue
        provider = make(resource)
        if provider is not None:
            put(provider)
            _made.append(provider)


def flush() -> None:
    """Export what the providers made here still hold (at the end of a lifespan)."""
    for provider in _made:
        provider.force_flush()


async def serve_lifespan(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """Run ``app``'s lifespan, flushing the providers made here at its end. A checkpoint."""

    async def send_flushing(message: Message) -> None:
        if message["type"] == "lifespan.shutdown.complete":
            flush()
        await send(message)

    await app(scope, receive, send_flushing)
