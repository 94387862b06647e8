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


class _DeferredTelemetry:
    """Passes requests through until OpenTelemetry is imported, then records them."""

    __slots__ = ("app", "auto_configure", "owner", "recording")

    def __init__(self, app: ASGIApp, owner: Any) -> None:
        self.app = app
        self.owner = owner
        self.recording: ASGIApp | None = None
        # Set up from the environment: OpenTelemetry is wanted from the lifespan on.
        self.auto_configure = os.environ.get("TRIOAPI_OTEL_AUTO_CONFIGURE", "").lower() == "true"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request, recorded once OpenTelemetry is in use. A checkpoint."""
        recording = self.recording
        if recording is None:
            if not self.auto_configure and "opentelemetry.trace" not in sys.modules:
                await self.app(scope, receive, send)
                return
            from trioapi.telemetry import TelemetrySettings

            recording = self.recording = telemetry_middleware(
                self.app, TelemetrySettings({}), self.owner
            )
        await recording(scope, receive, send)
