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


# Imported by anything that can set a provider up: until then nothing can be recorded.
_OTEL_TRACE = "opentelemetry.trace"


class _DeferredTelemetry:
    """Passes requests through until OpenTelemetry is imported and set up, then records them."""

    __slots__ = ("app", "auto_configure", "owner", "recording", "settings")

    def __init__(self, app: ASGIApp, owner: Any) -> None:
        self.app = app
        self.owner = owner
        self.recording: ASGIApp | None = None
        self.settings: Any = None  # the recording layer's TelemetrySettings
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

            self.settings = TelemetrySettings({})
            recording = self.recording = telemetry_middleware(self.app, self.settings, self.owner)
        if not self.auto_configure and self.settings.nothing_set_up():
            # Nothing set up: the recording layer would record nothing either.
            await self.app(scope, receive, send)
            return
        await recording(scope, receive, send)
