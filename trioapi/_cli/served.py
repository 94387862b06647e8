"""What ``trioapi run`` puts in front of the app in each worker: readiness and the drain count.

:class:`ServedApp` counts the requests in flight, answers the readiness probe
(``--health-path``) itself, and hears of shutdown first: hypercorn's patched
worker (``trioapi.server``) hands it the shutdown trigger, and it passes a
wrapped one on to the app (a ``TrioAPI`` closes its WebSockets and streams).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

import trio

from trioapi.server import call_shutdown_trigger, find_shutdown_target
from trioapi.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("trioapi.server")

STARTING, READY, DRAINING = "starting", "ready", "draining"


class ServedApp:
    """The ASGI app a worker serves: the user's app, plus a readiness probe and counters.

    Args:
        app: the application (with the CLI's middleware already around it).
        health_path: a path answered here: 200 ``{"status": "ready"}`` once the
            lifespan has started, 503 with ``"starting"`` or ``"draining"``
            otherwise. ``None``: no probe.
    """

    def __init__(self, app: ASGIApp, health_path: str | None = None) -> None:
        self.app = app
        self.health_path = health_path
        self.state = STARTING
        self.in_flight = 0
        self.finished_while_draining = 0
        self.cancelled_while_draining = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the probe, count HTTP requests, watch the lifespan for readiness."""
        kind = scope["type"]
        if kind == "lifespan":
            await self.app(scope, receive, self._lifespan_send(send))
            return
        if kind == "http" and scope["path"] == self.health_path:
            await self._answer_probe(send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        except trio.Cancelled:
            if self.state == DRAINING:  # hypercorn's hard cancel at the graceful timeout
                self.cancelled_while_draining += 1
            raise
        else:
            if self.state == DRAINING:
                self.finished_while_draining += 1
        finally:
            self.in_flight -= 1

    def _lifespan_send(self, send: Send) -> Send:
        async def lifespan_send(message: Message) -> None:
            await send(message)
            if message["type"] == "lifespan.startup.complete":
                self.state = READY

        return lifespan_send

    async def _answer_probe(self, send: Send) -> None:
        body = b'{"status":"%s"}' % self.state.encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200 if self.state == READY else 503,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"cache-control", b"no-store"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def mark_ready_without_lifespan(self) -> None:
        """Ready even though the app never completed a lifespan startup (it has none)."""
        if self.state == STARTING:
            self.state = READY

    def shutdown_trigger(
        self, trigger: Callable[[], Awaitable[object]], *, graceful_timeout: float | None = None
    ) -> Callable[[], Awaitable[object]]:
        """Wrap the server's trigger: start draining, then let the app's own trigger fire.

        ``graceful_timeout`` (the server's) is passed on to the app's trigger.
        """

        async def begin_draining() -> None:
            await trigger()
            self.state = DRAINING
            logger.info(
                "Shutting down: draining %d request(s) in flight (worker pid %d)",
                self.in_flight,
                os.getpid(),
            )

        inner: Any = find_shutdown_target(self.app)
        if inner is None:
            return begin_draining
        return call_shutdown_trigger(inner, begin_draining, graceful_timeout)

    def log_stopped(self) -> None:
        """Log the shutdown line: how many requests were drained, how many were cut off."""
        logger.info(
            "Stopped: %d request(s) drained, %d cancelled at the graceful timeout (worker pid %d)",
            self.finished_while_draining,
            self.cancelled_while_draining,
            os.getpid(),
        )
