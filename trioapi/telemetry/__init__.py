"""Built-in OpenTelemetry support: ``TrioAPI(telemetry={...})``, as FastAPI 0.163 has it.

Needs the ``telemetry`` extra (``pip install 'trioapi[telemetry]'``). An app
given ``telemetry=`` records a server span for each request, with spans for
its dependencies, its endpoint and the serialization of its response, and the
``http.server.request.duration`` / ``http.server.active_requests`` metrics.
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

from trioapi.telemetry._settings import TelemetryConfig, TelemetryConfigError, TelemetrySettings

__all__ = ["TelemetryConfig", "TelemetryConfigError", "TelemetrySettings"]
