"""``TestClient``: FastAPI's blocking test client, driving the app on a Trio loop.

The app runs on a Trio loop in a helper thread. ``with TestClient(app) as
client:`` runs the lifespan's startup on entry and its shutdown on exit;
without ``with`` no lifespan runs, as in FastAPI.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeAlias

import trio

from trioapi._testing import httpx
from trioapi._testing.lifespan import LifespanDriver
from trioapi._testing.portal import LoopThread
from trioapi._testing.transport import TrioASGITransport, adopt_response
from trioapi._testing.websocket import (
    WebSocketDenialResponse,
    WebSocketTestSession,
    _WebSocketCall,
    build_websocket_scope,
)
from trioapi.concurrency import is_async_callable
from trioapi.exceptions import TrioAPIDeprecationWarning
from trioapi.types import ASGIApp, Receive, Scope, Send

__all__ = [
    "ASGI2App",
    "ASGI3App",
    "ASGIInstance",
    "TestClient",
    "WebSocketDenialResponse",
    "WebSocketTestSession",
]

#: What an ASGI 2 app returns for a scope: a callable taking ``receive`` and ``send``.
ASGIInstance: TypeAlias = Callable[[Receive, Send], Awaitable[None]]
#: An ASGI 2 ("double callable") app: ``app(scope)`` gives an :data:`ASGIInstance`.
ASGI2App: TypeAlias = Callable[[Scope], ASGIInstance]
#: An ASGI 3 app: ``await app(scope, receive, send)``.
ASGI3App: TypeAlias = Callable[[Scope, Receive, Send], Awaitable[None]]


class _ASGI2Adapter:
    """Runs an ASGI 2 app as ASGI 3, so the test client drives both the same way."""

    def __init__(self, app: ASGI2App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        instance = self.app(scope)
        await instance(receive, send)


def _as_asgi3(app: ASGIApp | ASGI2App) -> ASGIApp:
    """``app`` itself when it is ASGI 3; an ASGI 2 app (a class, or a sync callable) wrapped."""
    # An ASGI 2 app may be a class whose instances are the per-scope callables.
    is_asgi3 = hasattr(app, "__await__") if inspect.isclass(app) else is_async_callable(app)
    return app if is_asgi3 else _ASGI2Adapter(app)  # type: ignore[return-value,arg-type]  # told apart just above


class _SyncBody(httpx.SyncByteStream):
    """Pulls the async body stream chunk by chunk through the loop thread.

    ``own_portal``: the loop was started for this request alone (outside
    ``with``), and stops when the response is closed.
    """

    def __init__(
        self,
        portal: LoopThread,
        stream: httpx.AsyncByteStream,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self._portal = portal
        self._stream = stream
        self._on_close = on_close

    def __iter__(self) -> Iterator[bytes]:
        chunks = self._stream.__aiter__()
        while True:
            try:
                yield self._portal.run(chunks.__anext__)
            except StopAsyncIteration:
                return

    def close(self) -> None:
        try:
            self._portal.run(self._stream.aclose)
        except trio.RunFinishedError:
            pass  # the client (or its ``with``) closed the loop, cancelling the app already
        finally:
            if self._on_close is not None:
                self._on_close()


class _SyncTransport(httpx.BaseTransport):
    def __init__(self, client: TestClient) -> None:
        self._client = client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        client = self._client
        # Outside ``with`` each request runs on a loop of its own, as in
        # Starlette: nothing one request leaves in the loop reaches the next.
        own_portal = client._portal is None
        portal = client._open_request_portal() if own_portal else client._ensure_portal()
        try:
            request.read()
            transport = TrioASGITransport(
                client.app,
                raise_app_exceptions=client.raise_server_exceptions,
                root_path=client.root_path,
                state=client.app_state,
                nursery=portal.nursery,
                client=client.client_address,
                end_on_close=True,
            )
            response = portal.run(transport.handle_async_request, request)
        except BaseException:
            if own_portal:
                client._close_request_portal(portal)
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        sync_response = httpx.Response(
            response.status_code,
            headers=response.headers.raw,
            stream=_SyncBody(
                portal,
                response.stream,
                (lambda: client._release_request_portal(portal, response.stream))
                if own_portal
                else None,
            ),
            request=request,
            # The same dict: trailers and debug info the app sends later land in it.
            extensions=response.extensions,
        )
        adopt_response(response, sync_response)
        return sync_response


class TestClient(httpx.Client):
    """A blocking client for an ASGI app, with the ``httpx.Client`` API.

    Args:
        app: the application.
        base_url: the URL requests are relative to.
        raise_server_exceptions: re-raise errors the app raised instead of
            returning its 500 response.
        root_path: the ASGI ``root_path`` given to the app.
        backend: accepted for compatibility; only ``"trio"`` exists.
        backend_options: accepted for compatibility; unused.
        cookies: cookies to start with (they persist across requests).
        headers: headers sent with every request.
        follow_redirects: follow redirects (FastAPI's default: yes).
        client: the ``(host, port)`` the app sees as the client.
    """

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        app: ASGIApp | ASGI2App,
        base_url: str = "http://testserver",
        raise_server_exceptions: bool = True,
        root_path: str = "",
        backend: str = "trio",
        backend_options: Mapping[str, Any] | None = None,
        cookies: httpx._types.CookieTypes | None = None,
        headers: Mapping[str, str] | None = None,
        follow_redirects: bool = True,
        client: tuple[str, int] = ("testclient", 50000),
    ) -> None:
        self.app = _as_asgi3(app)
        self.app_state: dict[str, Any] = {}
        self.raise_server_exceptions = raise_server_exceptions
        self.root_path = root_path
        self.client_address = client
        self._portal: LoopThread | None = None
        # The loops of requests made outside ``with`` whose responses are open.
        self._request_portals: set[LoopThread] = set()
        self._lifespan: LifespanDriver | None = None
        all_headers = {"user-agent": "testclient"}
        all_headers.update(headers or {})
        super().__init__(
            base_url=base_url,
            headers=all_headers,
            transport=_SyncTransport(self),
            follow_redirects=follow_redirects,
            cookies=cookies,
        )

    def _ensure_portal(self) -> LoopThread:
        if self._portal is None:
            self._portal = LoopThread()
        return self._portal

    def __enter__(self) -> TestClient:
        portal = self._ensure_portal()
        self._lifespan = LifespanDriver(self.app, self.app_state)
        assert portal.nursery is not None
        try:
            portal.run(self._lifespan.startup, portal.nursery)
        except BaseException:
            self._close_portal()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        try:
            if self._lifespan is not None and self._portal is not None:
                lifespan, self._lifespan = self._lifespan, None
                self._portal.run(lifespan.shutdown)
        finally:
            # As Starlette's TestClient: leaving the block stops the loop but
            # does not close the client; later requests get a fresh loop.
            self._close_portal()

    def _open_request_portal(self) -> LoopThread:
        portal = LoopThread()
        self._request_portals.add(portal)
        return portal

    def _release_request_portal(self, portal: LoopThread, stream: Any) -> None:
        """Stop a request's loop once its response is closed and its app has returned.

        The app may still run after its response (a deadline answered while
        a worker thread runs on): the loop then stops when the app returns,
        and :meth:`close` waits for that.
        """
        app_done: trio.Event | None = getattr(stream, "app_done", None)
        if app_done is None or app_done.is_set():
            self._close_request_portal(portal)
        else:
            portal.stop_after(app_done)

    def _close_request_portal(self, portal: LoopThread) -> None:
        self._request_portals.discard(portal)
        portal.close()

    def _close_portal(self) -> None:
        if self._portal is not None:
            portal, self._portal = self._portal, None
            portal.close()

    def close(self) -> None:
        """Close the client, stopping its loop threads (apps of unclosed responses are cancelled)."""
        for portal in list(self._request_portals):
            self._close_request_portal(portal)
        self._close_portal()
        super().close()

    def request(self, method: str, url: httpx._types.URLTypes, **kwargs: Any) -> httpx.Response:
        """Send a request; as ``httpx.Client.request``, but ``timeout=`` only warns.

        The app runs in-process, so there is nothing a timeout could cut short.
        """
        if kwargs.get("timeout", httpx.USE_CLIENT_DEFAULT) is not httpx.USE_CLIENT_DEFAULT:
            warnings.warn(
                "You should not use the 'timeout' argument with the TestClient: the app "
                "runs in-process and is not interrupted. Leave the argument out.",
                TrioAPIDeprecationWarning,
                stacklevel=2,
            )
        return super().request(method, url, **kwargs)

    def websocket_connect(
        self,
        url: str,
        subprotocols: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> WebSocketTestSession:
        """Open a WebSocket to the app; use the result as a context manager."""
        scope = build_websocket_scope(
            self,
            url,
            subprotocols,
            root_path=self.root_path,
            state=self.app_state,
            client_address=self.client_address,
            **kwargs,
        )
        opened_portal = self._portal is None
        portal = self._ensure_portal()
        return WebSocketTestSession(
            portal,
            _WebSocketCall(self.app, scope),
            on_close=self._close_portal if opened_portal else None,
        )
