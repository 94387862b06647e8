"""auto_configure: OpenTelemetry's providers set up from TRIOAPI_OTEL_AUTO_CONFIGURE and OTEL_*."""

import os
import subprocess
import sys
import textwrap

import pytest
from opentelemetry import trace

from trioapi.telemetry import TelemetryConfigError
from trioapi.telemetry._environment import configure_from_environment

APP = textwrap.dedent(
    """
    from trioapi import TrioAPI
    from trioapi.testclient import TestClient

    app = TrioAPI()

    @app.get("/items/{value}")
    def endpoint(value: int) -> int:
        return value

    with TestClient(app) as client:
        assert client.get("/items/3").json() == 3
    """
)


def test_the_environment_sets_the_providers_up_in_a_fresh_process() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "TRIOAPI_OTEL_"))}
    env.update(
        TRIOAPI_OTEL_AUTO_CONFIGURE="true",
        OTEL_TRACES_EXPORTER="console",
        OTEL_METRICS_EXPORTER="none",
        OTEL_LOGS_EXPORTER="none",
        OTEL_SERVICE_NAME="inventory",
    )
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", APP],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert '"name": "GET /items/{value}"' in result.stdout  # exported when the process exits
    assert '"service.name": "inventory"' in result.stdout


def test_a_missing_otlp_exporter_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp")
    monkeypatch.setitem(sys.modules, "opentelemetry.exporter.otlp.proto.http.trace_exporter", None)
    with pytest.raises(
        TelemetryConfigError, match="pip install opentelemetry-exporter-otlp-proto-http"
    ):
        configure_from_environment()
    assert type(trace.get_tracer_provider()).__name__ == "ProxyTracerProvider"


def test_an_unknown_exporter_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "zipkin")
    with pytest.raises(TelemetryConfigError, match="OTEL_TRACES_EXPORTER='zipkin'"):
        configure_from_environment()


def test_otel_sdk_disabled_sets_nothing_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "zipkin")  # would be refused if read
    configure_from_environment()
    assert type(trace.get_tracer_provider()).__name__ == "ProxyTracerProvider"
