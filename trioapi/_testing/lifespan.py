"""Driving an app's ASGI lifespan from a test client."""

from __future__ import annotations

import math
from typing import Any

import trio

from trioapi.types import ASGIApp, Message


class LifespanError(RuntimeError):
    """The application reported ``lifespan.startup.failed`` or ``lifespan.shutdown.failed``."""


class LifespanDriver:
    """Plays the server's side of the lifespan protocol against ``app``."""

    def __init__(self, app: ASGIApp, state: dict[str, Any]) -> None:
        self.app = app
        self.state = state
        self._to_app, self._app_inbox = trio.open_memory_channel[Message](math.inf)
        self._to_client, self._client_inbox = trio.open_memory_channel[Message](math.inf)
        self._error: BaseException | None = None
        self._done = trio.Event()

    async def _run(self) -> None:
        scope = {
            "type": "lifespan",
            "asgi": {"version": "3.0", "spec_version": "2.0"},
            "state": self.state,
        }
        try:
            await self.app(scope, self._app_inbox.receive, self._to_client.send)
        except Exception as exc:  # re-raised by startup()/shutdown() in the client
            self._error = exc
        finally:
            self._done.set()
            self._to_client.close()

    async def startup(self, nursery: trio.Nursery) -> None:
        """Start the app's lifespan task in ``nursery`` and wait for startup to finish."""
        nursery.start_soon(self._run)
        await self._to_app.send({"type": "lifespan.startup"})
        await self._expect("lifespan.startup")

    async def shutdown(self) -> None:
        """Ask the app to shut down and wait until it has."""
        if self._done.is_set():
            return
        await self._to_app.send({"type": "lifespan.shutdown"})
        await self._expect("lifespan.shutdown")
        await self._done.wait()
        self._raise_error()

    async def _expect(self, phase: str) -> None:
        try:
            message = await self._client_inbox.receive()
        except trio.EndOfChannel:
            # The app returned or raised without answering.
            self._raise_error()
            return
        if message["type"] == f"{phase}.failed":
            await self._done.wait()
            self._raise_error()
            raise LifespanError(message.get("message", ""))

    def _raise_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error
