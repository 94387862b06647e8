"""The ``telemetry=`` mapping of ``TrioAPI``, checked once when the app is built."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypedDict

from opentelemetry import metrics, trace
from opentelemetry.metrics import Meter, MeterProvider
from opentelemetry.trace import Tracer, TracerProvider

from trioapi.exceptions import TrioAPIError
from trioapi.types import Scope

#: The instrumentation scope of every span and instrument trioapi makes.
SCOPE_NAME = "trioapi"


class TelemetryConfig(TypedDict, total=False):
    """The keys ``TrioAPI(telemetry=...)`` takes, as in FastAPI 0.163.

    Attributes:
        tracer_provider: Where spans go (``None``: OpenTelemetry's global provider).
        meter_provider: Where metrics go (``None``: the global provider).
        logger_provider: Where log records go (``None``: the global provider).
        auto_configure: Set the global providers up from the environment.
        tracing: Record spans (default on).
        metrics: Record the HTTP server metrics (default on).
        logs: Send log records (default on).
        operation_spans: Record the dependencies / endpoint / serialization
            spans under the server span (default on).
        exclude: ``exclude(scope)`` true: the request is not recorded at all.
    """

    tracer_provider: TracerProvider | None
    meter_provider: MeterProvider | None
    logger_provider: Any
    auto_configure: bool
    tracing: bool
    metrics: bool
    logs: Any
    operation_spans: bool
    exclude: Callable[[Scope], bool] | None


class TelemetryConfigError(TrioAPIError, ValueError):
    """``telemetry=`` has a key or value trioapi does not know."""


_KEYS = frozenset(TelemetryConfig.__annotations__)


class TelemetrySettings:
    """One app's telemetry: the checked settings, and its tracer and meter, made on first use.

    Args:
        config: The ``telemetry=`` mapping given to ``TrioAPI``.

    Raises:
        TelemetryConfigError: a key is unknown or ``exclude`` is not callable.
    """

    def __init__(self, config: Mapping[str, Any]) -> None:
        unknown = sorted(set(config) - _KEYS)
        if unknown:
            raise TelemetryConfigError(
                f"TrioAPI(telemetry=...): unknown key(s) {', '.join(map(repr, unknown))}; "
                f"the keys are {', '.join(sorted(_KEYS))}"
            )
        exclude = config.get("exclude")
        if exclude is not None and not callable(exclude):
            raise TelemetryConfigError(
                "TrioAPI(telemetry=...): 'exclude' must be a function of the ASGI scope "
                "that returns True for requests not to record"
            )
        self.tracer_provider: TracerProvider | None = config.get("tracer_provider")
        self.meter_provider: MeterProvider | None = config.get("meter_provider")
        self.tracing = bool(config.get("tracing", True))
        self.metrics = bool(config.get("metrics", True))
        self.operation_spans = self.tracing and bool(config.get("operation_spans", True))
        self.exclude: Callable[[Scope], bool] | None = exclude
        self._tracer: Tracer | None = None
        self._meter: Meter | None = None

    @property
    def tracer(self) -> Tracer:
        """The app's tracer, asked of the provider once (so warnings keep their de-duplication)."""
        tracer = self._tracer
        if tracer is None:
            provider = self.tracer_provider or trace.get_tracer_provider()
            tracer = self._tracer = provider.get_tracer(SCOPE_NAME)
        return tracer

    @property
    def meter(self) -> Meter:
        """The app's meter, asked of the provider once."""
        meter = self._meter
        if meter is None:
            provider = self.meter_provider or metrics.get_meter_provider()
            meter = self._meter = provider.get_meter(SCOPE_NAME)
        return meter
