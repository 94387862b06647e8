"""The ``telemetry=`` mapping of ``TrioAPI``, checked once when the app is built."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from typing import Any, TypedDict

from opentelemetry import _logs, metrics, trace
from opentelemetry._logs import Logger, LoggerProvider
from opentelemetry.metrics import Meter, MeterProvider
from opentelemetry.trace import Tracer, TracerProvider

from trioapi.exceptions import TrioAPIError
from trioapi.types import Scope

#: The instrumentation scope of every span, instrument and log record trioapi makes.
SCOPE_NAME = "trioapi"
#: The semantic conventions' version the attribute names follow.
SCHEMA_URL = "https://opentelemetry.io/schemas/1.44.0"

# The semantic conventions' methods; OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS replaces them.
_HTTP_METHODS = frozenset(
    {"CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "QUERY", "TRACE"}
)

# The API's stand-ins until an SDK is installed: a global provider of one of these
# types means "not configured" (the API has no public way to ask).
_DEFERRED = frozenset(
    {
        ("opentelemetry.trace", "ProxyTracerProvider"),
        ("opentelemetry.metrics._internal", "_ProxyMeterProvider"),
        ("opentelemetry._logs._internal", "ProxyLoggerProvider"),
    }
)


# Where OpenTelemetry keeps its three global providers until set (``None``
# before), and the public functions that read them, in the order tracer,
# meter, logger. Reading the globals is ~30x cheaper than calling
# ``get_*_provider()``, which look at the environment on every call while
# nothing is set: that was ~3 us per request for every app in a process that
# imports OpenTelemetry without setting it up, with or without ``telemetry=``
# given. Where this OpenTelemetry keeps them elsewhere, the environment names a
# provider to load, or a public function was replaced (tests patch them),
# the public calls decide.
_PROVIDERS = (
    ("opentelemetry.trace", "_TRACER_PROVIDER", "opentelemetry.trace", "get_tracer_provider"),
    (
        "opentelemetry.metrics._internal",
        "_METER_PROVIDER",
        "opentelemetry.metrics",
        "get_meter_provider",
    ),
    (
        "opentelemetry._logs._internal",
        "_LOGGER_PROVIDER",
        "opentelemetry._logs",
        "get_logger_provider",
    ),
)
_ENVIRONMENT = (
    "OTEL_PYTHON_TRACER_PROVIDER",
    "OTEL_PYTHON_METER_PROVIDER",
    "OTEL_PYTHON_LOGGER_PROVIDER",
)
_ABSENT = object()


class _UnsetProviders:
    """Answers "is no global provider of this kind set up?" cheaply, as the public functions would."""

    __slots__ = ("checks",)

    def __init__(self, checks: tuple[tuple[Any, str, Any, str, Any], ...]) -> None:
        self.checks = checks

    @classmethod
    def find(cls) -> _UnsetProviders | None:
        """The checker, or ``None`` when the globals cannot be read safely."""
        if any(variable in os.environ for variable in _ENVIRONMENT):
            return None  # a provider is loaded from an entry point on first use
        checks = []
        for holder_name, attribute, public_name, function_name in _PROVIDERS:
            holder = sys.modules.get(holder_name)
            public = sys.modules.get(public_name)
            if holder is None or public is None:
                return None
            if getattr(holder, attribute, _ABSENT) is _ABSENT:
                return None
            function = getattr(public, function_name, _ABSENT)
            if getattr(function, "__module__", None) not in (holder_name, public_name):
                return None  # not OpenTelemetry's own function (replaced, or moved)
            checks.append((holder, attribute, public, function_name, function))
        return cls(tuple(checks))

    def is_unset(self, kind: int) -> bool:
        """True when no provider of ``kind`` (0 tracer, 1 meter, 2 logger) is set up.

        As OpenTelemetry's own ``get_*_provider()`` would say: also only while
        that function has not been replaced.
        """
        holder, attribute, public, function_name, function = self.checks[kind]
        return getattr(holder, attribute) is None and getattr(public, function_name) is function

    def all_unset(self) -> bool:
        """True when no provider of any kind is set up (see :meth:`is_unset`)."""
        for holder, attribute, public, function_name, function in self.checks:
            if (
                getattr(holder, attribute) is not None
                or getattr(public, function_name) is not function
            ):
                return False
        return True


def is_configured(provider: object) -> bool:
    """Whether a global ``provider`` is a real one, not the API's stand-in before set-up."""
    cls = type(provider)
    return (cls.__module__, cls.__name__) not in _DEFERRED


class TelemetryConfig(TypedDict, total=False):
    """The keys ``TrioAPI(telemetry=...)`` takes, as in FastAPI 0.163.

    Omitted keys keep their defaults. Telemetry is on by default and uses
    OpenTelemetry's global providers: an app records nothing until they are
    set up (or ``auto_configure`` sets them up from the environment).

    Attributes:
        tracer_provider: Where spans go (``None``: OpenTelemetry's global provider).
        meter_provider: Where metrics go (``None``: the global provider).
        logger_provider: Where log records go (``None``: the global provider).
        auto_configure: When the lifespan starts, set the global providers not
            set up yet from the ``OTEL_*`` variables (default:
            ``TRIOAPI_OTEL_AUTO_CONFIGURE=true``).
        tracing: Record request and WebSocket spans (default on).
        metrics: Record the HTTP server metrics (default on).
        logs: Record validation failures and unhandled exceptions (default on).
        operation_spans: Record the dependencies / endpoint / serialization /
            background task spans under the server span (default on).
        exclude: ``exclude(scope)`` true: the request is not recorded at all.
    """

    tracer_provider: TracerProvider | None
    meter_provider: MeterProvider | None
    logger_provider: LoggerProvider | None
    auto_configure: bool
    tracing: bool
    metrics: bool
    logs: bool
    operation_spans: bool
    exclude: Callable[[Scope], bool] | None


class TelemetryConfigError(TrioAPIError, ValueError):
    """``telemetry=`` has a key or value trioapi does not know."""


_KEYS = frozenset(TelemetryConfig.__annotations__)


def _known_methods() -> frozenset[str]:
    given = os.environ.get("OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS", "")
    methods = frozenset(method.strip() for method in given.split(",") if method.strip())
    return methods or _HTTP_METHODS


class TelemetrySettings:
    """One app's telemetry: the checked settings, and its tracer, meter and logger.

    Each is asked of its provider once, and again only when the provider
    changes (a global provider set after the app was built is followed).

    Args:
        config: The ``telemetry=`` mapping given to ``TrioAPI`` (copied).

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
        self.logger_provider: LoggerProvider | None = config.get("logger_provider")
        self.tracing = bool(config.get("tracing", True))
        self.metrics = bool(config.get("metrics", True))
        self.logs = bool(config.get("logs", True))
        self.operation_spans = self.tracing and bool(config.get("operation_spans", True))
        env = os.environ.get("TRIOAPI_OTEL_AUTO_CONFIGURE", "").lower() == "true"
        self.auto_configure = bool(config.get("auto_configure", env))
        self.exclude: Callable[[Scope], bool] | None = exclude
        self.known_methods = _known_methods()
        self._cache: dict[str, tuple[object, Any]] = {}
        # Found on first use (see _unset_check): OpenTelemetry's modules and
        # the environment as they are when requests start, not at import.
        self._unset: _UnsetProviders | object | None = _ABSENT

    def _unset_check(self) -> _UnsetProviders | None:
        unset = self._unset
        if unset is _ABSENT:
            unset = self._unset = _UnsetProviders.find()
        return unset  # type: ignore[return-value]

    def nothing_set_up(self) -> bool:
        """Whether none of the three global providers is set up (a cheap look, no environment)."""
        unset = self._unset_check()
        return unset is not None and unset.all_unset()

    def _from(self, kind: str, provider: Any, make: Callable[[Any], Any]) -> Any:
        cached = self._cache.get(kind)
        if cached is not None and cached[0] is provider:
            return cached[1]
        made = make(provider)
        self._cache[kind] = (provider, made)
        return made

    def tracer(self) -> Tracer | None:
        """The app's tracer; ``None`` when tracing is off or no provider is set up."""
        if not self.tracing:
            return None
        provider = self.tracer_provider
        if provider is None:
            unset = self._unset_check()
            if unset is not None and unset.is_unset(0):
                return None  # as trace.get_tracer_provider() would say, without reading the environment
            provider = trace.get_tracer_provider()
            if not is_configured(provider):
                return None
        return self._from(  # type: ignore[no-any-return]
            "tracer", provider, lambda p: p.get_tracer(SCOPE_NAME, schema_url=SCHEMA_URL)
        )

    def meter(self) -> Meter | None:
        """The app's meter; ``None`` when metrics are off or no provider is set up."""
        if not self.metrics:
            return None
        provider = self.meter_provider
        if provider is None:
            unset = self._unset_check()
            if unset is not None and unset.is_unset(1):
                return None  # as metrics.get_meter_provider() would say, without reading the environment
            provider = metrics.get_meter_provider()
            if not is_configured(provider):
                return None
        return self._from(  # type: ignore[no-any-return]
            "meter", provider, lambda p: p.get_meter(SCOPE_NAME, schema_url=SCHEMA_URL)
        )

    def logger(self) -> Logger | None:
        """The app's logger; ``None`` when logs are off or no provider is set up."""
        if not self.logs:
            return None
        provider = self.logger_provider
        if provider is None:
            unset = self._unset_check()
            if unset is not None and unset.is_unset(2):
                return None  # as _logs.get_logger_provider() would say, without reading the environment
            provider = _logs.get_logger_provider()
            if not is_configured(provider):
                return None
        return self._from(  # type: ignore[no-any-return]
            "logger", provider, lambda p: p.get_logger(SCOPE_NAME, schema_url=SCHEMA_URL)
        )

    def method(self, method: str) -> str:
        """``method`` as the semantic conventions record it: ``_OTHER`` when unknown."""
        return method if method in self.known_methods else "_OTHER"
