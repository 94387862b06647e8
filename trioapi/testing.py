"""Helpers for testing trioapi apps from pytest-trio: an async client over the app.

::

    async def test_items(app):
        async with AsyncTestClient(app) as client:   # runs the lifespan
            response = await client.get("/items")
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

import trio

from trioapi._testing import httpx
from trioapi._testing.async_websocket import AsyncWebSocketTestSession
from trioapi._testing.lifespan import LifespanDriver
from trioapi._testing.transport import TrioASGITransport
from trioapi._testing.websocket import (
    WebSocketDenialResponse,
    _WebSocketCall,
    build_websocket_scope,
)
from trioapi.types import ASGIApp

__all__ = [
    "AsyncTestClient",
    "AsyncWebSocketTestSession",
    "TrioASGITransport",
    "WebSocketDenialResponse",
]


class AsyncTestClient(httpx.AsyncClient):
    """An ``httpx.AsyncClient`` that calls the app in-process, on the current Trio loop.

    As ``async with``, it runs the lifespan's startup and shutdown and lets
    response bodies stream; otherwise each response is read whole.
    """

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        app: ASGIApp,
        base_url: str = "http://testserver",
        *,
        raise_server_exceptions: bool = True,
        root_path: str = "",
        lifespan: bool = True,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        self.app = app
        self.app_state: dict[str, Any] = {}
        self._run_lifespan = lifespan
        self._asgi_root_path = root_path
        self._asgi = TrioASGITransport(
            app,
            raise_app_exceptions=raise_server_exceptions,
            root_path=root_path,
            state=self.app_state,
        )
        self._nursery_manager: Any = None
        self._lifespan: LifespanDriver | None = None
        all_headers = {"user-agent": "testclient"}
        all_headers.update(headers or {})
        kwargs.setdefault("follow_redirects", True)
        super().__init__(transport=self._asgi, base_url=base_url, headers=all_headers, **kwargs)

    async def __aenter__(self) -> AsyncTestClient:
        await super().__aenter__()
        self._nursery_manager = trio.open_nursery()
        nursery = await self._nursery_manager.__aenter__()
        self._asgi.nursery = nursery
        if self._run_lifespan:
            self._lifespan = LifespanDriver(self.app, self.app_state)
            await self._lifespan.startup(nursery)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        try:
            if self._lifespan is not None and exc_type is None:
                await self._lifespan.shutdown()
        finally:
            self._asgi.nursery = None
            manager, self._nursery_manager = self._nursery_manager, None
            await manager.__aexit__(exc_type, exc_value, traceback)
            await super().__aexit__(exc_type, exc_value, traceback)

    def websocket_connect(
        self, url: str, subprotocols: Sequence[str] | None = None, **kwargs: Any
    ) -> AsyncWebSocketTestSession:
        """Open a WebSocket to the app; use the result with ``async with``.

        Only inside ``async with AsyncTestClient(app)``: the app's side runs
        in the client's nursery.

        Raises:
            RuntimeError: the client is not open.
        """
        nursery = self._asgi.nursery
        if nursery is None:
            raise RuntimeError(
                "websocket_connect() needs the client open: use it inside "
                "`async with AsyncTestClient(app) as client:`."
            )
        scope = build_websocket_scope(
            self,
            url,
            subprotocols,
            root_path=self._asgi_root_path,
            state=self.app_state,
            **kwargs,
        )
        return AsyncWebSocketTestSession(nursery, _WebSocketCall(self.app, scope))
