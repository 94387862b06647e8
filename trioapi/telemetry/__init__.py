"""Built-in OpenTelemetry support: ``TrioAPI(telemetry={...})``, as FastAPI 0.163 has it.

Needs the ``telemetry`` extra (``pip install 'trioapi[telemetry]'``). An app
records a server span for each request and WebSocket connection, with spans
for its dependencies, its endpoint, the serialization of its response and
its background tasks; the ``http.server.request.duration`` /
``http.server.active_requests`` metrics; and log records for refused input
and unhandled exceptions. It uses OpenTelemetry's global providers unless
``telemetry=`` names others, so it records nothing until they are set up.
Spans and the instrumentation scope are named ``trioapi.*``.
"""

from __future__ import annotations

try:
    import opentelemetry.trace  # noqa: F401  (only to give a clear error)
except ImportError as exc:
    raise ImportError(
        "trioapi.telemetry needs OpenTelemetry: install the telemetry extra, "
        "`pip install 'trioapi[telemetry]'`"
    ) from exc

from trioapi.telemetry._api import TelemetryData
from trioapi.telemetry._request import get_telemetry_data
from trioapi.telemetry._settings import TelemetryConfig, TelemetryConfigError, TelemetrySettings

__all__ = [
    "TelemetryConfig",
    "TelemetryConfigError",
    "TelemetryData",
    "TelemetrySettings",
    "get_telemetry_data",
]
