"""The telemetry layer of every ``TrioAPI`` app, without importing OpenTelemetry.

Telemetry is on by default, as in FastAPI 0.163: an app records with
OpenTelemetry's global providers once they are set up. Until something in
the process imports OpenTelemetry nobody can have set them up, so until
then a request costs one dictionary look-up here and OpenTelemetry (an
optional extra) is never imported.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Awaitable
from typing import Any

from trioapi.types import ASGIApp, Receive, Scope, Send


def telemetry_middleware(stack: ASGIApp, settings: Any, owner: Any) -> ASGIApp:
    """The app's middleware ``stack`` wrapped in its telemetry.

    Args:
        stack: The middleware stack.
        settings: The app's ``TelemetrySettings`` (``telemetry=`` given), or ``None``
            for the defaults, decided per request.
        owner: The application.
    """
    if settings is None:
        return _DeferredTelemetry(stack, owner)
    from trioapi.telemetry._server import TelemetryMiddleware

    return TelemetryMiddleware(stack, settings, owner)


# Where OpenTelemetry keeps its three global providers until set (``None``
# before), and the public functions that read them. Reading the globals is
# ~30x cheaper than calling ``get_*_provider()``, which look at the
# environment on every call while nothing is set: that was ~3 us per request
# for every app in a process that imports OpenTelemetry without setting it
# up. Where this OpenTelemetry keeps them elsewhere, the environment names a
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
# Imported by anything that can set a provider up: until then nothing can be recorded.
_OTEL_TRACE = "opentelemetry.trace"


class _UnsetProviders:
    """Answers "is no global provider set up?" cheaply, as the public functions would."""

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

    def all_unset(self) -> bool:
        """True when no provider is set and the public functions are OpenTelemetry's own."""
        for holder, attribute, public, function_name, function in self.checks:
            if (
                getattr(holder, attribute) is not None
                or getattr(public, function_name) is not function
            ):
                return False
        return True


class _DeferredTelemetry:
    """Passes requests through until OpenTelemetry is imported and set up, then records them."""

    __slots__ = ("app", "auto_configure", "owner", "recording", "unset")

    def __init__(self, app: ASGIApp, owner: Any) -> None:
        self.app = app
        self.owner = owner
        self.recording: ASGIApp | None = None
        self.unset: _UnsetProviders | None = None
        # Set up from the environment: OpenTelemetry is wanted from the lifespan on.
        self.auto_configure = os.environ.get("TRIOAPI_OTEL_AUTO_CONFIGURE", "").lower() == "true"

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        """Serve one request, recorded once OpenTelemetry is in use. A checkpoint.

        A plain function returning what to await: a request that is not
        recorded goes straight to the app, without a coroutine of this layer.
        """
        if self.recording is None and not self.auto_configure and _OTEL_TRACE not in sys.modules:
            return self.app(scope, receive, send)
        return self._serve(scope, receive, send)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        recording = self.recording
        if recording is None:
            from trioapi.telemetry import TelemetrySettings

            recording = self.recording = telemetry_middleware(
                self.app, TelemetrySettings({}), self.owner
            )
            if not self.auto_configure:
                self.unset = _UnsetProviders.find()
        unset = self.unset
        if unset is not None and unset.all_unset():
            # Nothing set up: the recording layer would record nothing either.
            await self.app(scope, receive, send)
            return
        await recording(scope, receive, send)
