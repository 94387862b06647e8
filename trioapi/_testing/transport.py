"""An httpx transport that calls an ASGI app in-process, on Trio.

The app runs in its own task; the response's body streams back through a
memory channel, so endless streams (server-sent events) can be read piece by
piece, and closing the response tells the app the client went away.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import trio
import trio.testing

from trioapi._scopes import get_request_context
from trioapi._testing import httpx
from trioapi.concurrency import thread_limiter
from trioapi.types import ASGIApp, Message, Scope

_CLIENT = ("testclient", 50000)


def build_http_scope(
    request: httpx.Request,
    *,
    root_path: str,
    state: dict[str, Any] | None,
    scope_type: str = "http",
    client: tuple[str, int] = _CLIENT,
) -> Scope:
    """The ASGI scope a server would build for ``request``, from the client at ``client``."""
    url = request.url
    scheme = url.scheme
    if scope_type == "websocket":
        scheme = {"http": "ws", "https": "wss"}.get(scheme, scheme)
    default_port = {"http": 80, "ws": 80, "https": 443, "wss": 443}.get(scheme, 80)
    raw_path = url.raw_path.split(b"?", 1)[0]
    scope: Scope = {
        "type": scope_type,
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": scheme,
        "path": unquote(raw_path.decode("latin-1")),
        "raw_path": raw_path,
        "query_string": url.query,
        "root_path": root_path,
        "headers": [(key.lower(), value) for key, value in request.headers.raw],
        "client": client,
        # Port 0 is a port: only a URL without one gets the scheme's default.
        "server": (url.host, default_port if url.port is None else url.port),
        "extensions": {"http.response.debug": {}, "http.response.trailers": {}},
    }
    if state is not None:
        scope["state"] = dict(state)
    return scope


class _AppCall:
    """One running call of the app: what it sent, and how it ended."""

    def __init__(self, app: ASGIApp, scope: Scope, body: bytes) -> None:
        self.app = app
        self.scope = scope
        self._body: bytes | None = body
        # Unbuffered, as a socket with a full window: the app's send() waits
        # until the client reads, so a client that stops reading stops the app.
        self._to_client, self.from_app = trio.open_memory_channel[Message](0)
        self.client_gone = trio.Event()
        self.cancel_scope = trio.CancelScope()
        self.error: Exception | None = None
        self.done = trio.Event()
        # Filled as the app sends them; the response's extensions share the list.
        self.trailers: list[tuple[bytes, bytes]] | None = None
        self.debug_info: dict[str, Any] | None = None
        self._phase = _BEFORE_START

    async def receive(self) -> Message:
        if self._body is not None:
            body, self._body = self._body, None
            return {"type": "http.request", "body": body, "more_body": False}
        await self.client_gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.debug":
            # Starlette's test-client extension: what a template response rendered.
            self.debug_info = message["info"]
            return
        self._check_order(message)
        if kind == "http.response.trailers":
            assert self.trailers is not None  # _check_order refuses undeclared trailers
            self.trailers.extend((bytes(k), bytes(v)) for k, v in message.get("headers", []))
        else:
            if kind == "http.response.body" and not isinstance(message.get("body", b""), bytes):
                # A copy now: the app may reuse its bytearray (or the memory under
                # a memoryview) for the next chunk once send() returns.
                message = {**message, "body": bytes(message["body"])}
            await self._to_client.send(message)
        if self._phase == _COMPLETE:
            # As a server does (ASGI spec): once the response is complete,
            # receive() answers http.disconnect. Only once the client has the
            # last message: said earlier, a disconnect watch could give up on
            # that send while a slow client thread had not taken it yet.
            self.client_gone.set()

    def _check_order(self, message: Message) -> None:
        """Refuse messages out of the order the ASGI spec gives (AssertionError, as Starlette's)."""
        kind = message["type"]
        if kind == "http.response.start":
            self._phase = _IN_BODY
            if message.get("trailers", False):
                self.trailers = []
        elif kind == "http.response.body":
            if self._phase in (_IN_TRAILERS, _COMPLETE):
                raise AssertionError("Received body message after body completed.")
            if not message.get("more_body", False):
                self._phase = _IN_TRAILERS if self.trailers is not None else _COMPLETE
        elif kind == "http.response.trailers":
            if self.trailers is None:
                raise AssertionError("Received trailers without declaring trailers.")
            if self._phase == _IN_BODY:
                raise AssertionError("Received trailers before body completed.")
            if self._phase == _COMPLETE:
                raise AssertionError("Received trailers after response completed.")
            if not message.get("more_trailers", False):
                self._phase = _COMPLETE

    @property
    def response_complete(self) -> bool:
        """Whether the app sent its whole response (body and any trailers)."""
        return self._phase == _COMPLETE

    async def run(self) -> None:
        try:
            with self.cancel_scope:
                async with self._to_client:
                    await self.app(self.scope, self.receive, self.send)
        except Exception as exc:  # handed to the client side, which re-raises it
            self.error = exc
        finally:
            self.done.set()

    async def abandon(self) -> None:
        """The client closed an unfinished response: tell the app, and end it. A checkpoint.

        The app hears ``http.disconnect``; once it only waits (ignoring the
        disconnect, or blocked sending what nobody reads) it is cancelled.
        """
        self.client_gone.set()
        async with trio.open_nursery() as nursery:

            async def cancel_when_idle() -> None:
                await wait_until_idle()
                self.cancel_scope.cancel()

            nursery.start_soon(cancel_when_idle)
            await self.done.wait()
            nursery.cancel_scope.cancel()


async def wait_until_idle() -> None:
    """Return once every task waits and none of trioapi's worker threads runs. A checkpoint.

    A task waiting on a worker thread (a sync dependency's teardown) looks
    blocked to Trio, yet it is still working: cancelling it then would turn
    the error it is about to raise into a cancellation.
    """
    limiter = thread_limiter()
    while True:
        await trio.testing.wait_all_tasks_blocked()
        if not limiter.borrowed_tokens:
            return
        await trio.sleep(_THREAD_POLL)


# How often a test client looks again while the app waits on a worker thread (seconds).
_THREAD_POLL = 0.005


_BEFORE_START, _IN_BODY, _IN_TRAILERS, _COMPLETE = range(4)


def _apply_debug_info(response: httpx.Response, info: dict[str, Any] | None) -> None:
    """Expose a template response's debug info as Starlette's test client does."""
    if info is None:
        return
    response.extensions["http.response.debug"] = info
    if "template" in info:
        response.template = info["template"]  # type: ignore[attr-defined]  # Starlette's attribute
    if "context" in info:
        response.context = info["context"]  # type: ignore[attr-defined]  # Starlette's attribute


def adopt_response(inner: httpx.Response, outer: httpx.Response) -> None:
    """Let ``outer`` (the sync client's copy of ``inner``) get what arrives with the body."""
    _apply_debug_info(outer, inner.extensions.get("http.response.debug"))
    if isinstance(inner.stream, _BodyStream):
        inner.stream.response = outer


class _BodyStream(httpx.AsyncByteStream):
    """The response body as the app sends it."""

    def __init__(self, call: _AppCall, raise_app_exceptions: bool, end_on_close: bool) -> None:
        self._call = call
        self._raise = raise_app_exceptions
        self._end_on_close = end_on_close
        self._finished = False
        self.response: httpx.Response | None = None
        # A server sends no body in answer to HEAD, whatever the app sends.
        self._discard = call.scope.get("method") == "HEAD"

    # An iterator object rather than an async generator: a client that stops
    # reading early leaves nothing for Trio's generator finalizer to warn about.
    def __aiter__(self) -> _BodyStream:
        return self

    async def __anext__(self) -> bytes:
        while not self._finished:
            try:
                message = await self._call.from_app.receive()
            except trio.EndOfChannel:
                break
            if message["type"] != "http.response.body":
                continue
            self._finished = not message.get("more_body", False)
            chunk = message.get("body", b"")
            if chunk and not self._discard:
                return bytes(chunk)
        self._finished = True
        await self._wait_for_app()
        if self.response is not None:
            _apply_debug_info(self.response, self._call.debug_info)
        if self._raise and self._call.error is not None:
            error, self._call.error = self._call.error, None
            raise error
        raise StopAsyncIteration

    async def aclose(self) -> None:
        """Close the response. A checkpoint.

        With the response complete, this waits for the app to finish (its
        background tasks) and raises what it raised, as reading to the end
        would. Otherwise the app hears ``http.disconnect``; the blocking
        client also waits for it to end, cancelling it once it only waits.

        Raises:
            Exception: what the app raised after a complete response, when
                the client re-raises server exceptions.
        """
        if not self._call.response_complete:
            if self._end_on_close:
                await self._call.abandon()
            else:
                self._call.client_gone.set()
                await trio.lowlevel.checkpoint()
            return
        await self._wait_for_app()
        if self._raise and self._call.error is not None:
            error, self._call.error = self._call.error, None
            raise error

    @property
    def app_done(self) -> trio.Event:
        """Set once the app's call has returned (background tasks included)."""
        return self._call.done

    async def _wait_for_app(self) -> None:
        # The test client returns only once the app is done, background tasks
        # included; but not after a deadline answered while the app waits on a
        # worker thread: that answer is the whole response, sent at the deadline.
        context = get_request_context(self._call.scope)
        if context is None or not context.answered_for_app:
            await self._call.done.wait()
        else:
            await trio.lowlevel.checkpoint()


class TrioASGITransport(httpx.AsyncBaseTransport):
    """Send httpx requests to an ASGI app in the same process.

    Args:
        app: the ASGI application.
        raise_app_exceptions: re-raise an exception the app raised, as the
            FastAPI test client does, instead of answering 500.
        root_path: the ASGI ``root_path`` to put in every scope.
        state: the lifespan state copied into each request's scope.
        nursery: where app calls run so bodies can stream; without one the
            whole body is read before the response is returned.
        client: the ``(host, port)`` the app sees as the client.
        end_on_close: closing an unfinished response waits for the app to
            end, cancelling it once it only waits (the blocking client);
            otherwise the app is only told the client went away.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        raise_app_exceptions: bool = True,
        root_path: str = "",
        state: dict[str, Any] | None = None,
        nursery: trio.Nursery | None = None,
        client: tuple[str, int] = _CLIENT,
        end_on_close: bool = False,
    ) -> None:
        self.app = app
        self.client = client
        self.end_on_close = end_on_close
        self.raise_app_exceptions = raise_app_exceptions
        self.root_path = root_path
        self.state = state
        self.nursery = nursery

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Run the app for ``request``. A checkpoint."""
        body = await request.aread()
        scope = build_http_scope(
            request, root_path=self.root_path, state=self.state, client=self.client
        )
        call = _AppCall(self.app, scope, body)
        if self.nursery is not None:
            self.nursery.start_soon(call.run)
            try:
                return await self._read_response(call, request)
            except BaseException:
                # The client gave up before the response head (cancelled, or
                # failed): the app, still running in the client's nursery,
                # hears http.disconnect as it would from a server.
                call.client_gone.set()
                raise
        async with trio.open_nursery() as nursery:
            nursery.start_soon(call.run)
            response = await self._read_response(call, request)
            await response.aread()
            return response

    async def _read_response(self, call: _AppCall, request: httpx.Request) -> httpx.Response:
        start: Message | None = None
        async for message in call.from_app:
            if message["type"] == "http.response.start":
                start = message
                break
        if start is None:
            await call.done.wait()
            if call.error is not None and self.raise_app_exceptions:
                raise call.error
            if call.error is None:
                raise AssertionError("TestClient did not receive any response.")
            # What a server answers for an app that failed before its
            # response: a bare 500 (a body comes from the app's own middleware).
            return httpx.Response(500, request=request, content=b"")
        stream = _BodyStream(call, self.raise_app_exceptions, self.end_on_close)
        extensions: dict[str, Any] = {}
        if call.trailers is not None:
            extensions["http.response.trailers"] = call.trailers
        response = httpx.Response(
            start["status"],
            headers=list(start.get("headers", [])),
            stream=stream,
            request=request,
            extensions=extensions,
        )
        stream.response = response
        _apply_debug_info(response, call.debug_info)
        return response
