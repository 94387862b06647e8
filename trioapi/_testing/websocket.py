"""The test client's side of a WebSocket conversation with an in-process app."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any, Literal

import trio
import trio.testing

from trioapi._testing import httpx
from trioapi._testing.portal import LoopThread
from trioapi._testing.transport import build_http_scope, wait_until_idle
from trioapi.types import ASGIApp, Message, Scope


def build_websocket_scope(
    client: httpx.Client | httpx.AsyncClient,
    url: str,
    subprotocols: Sequence[str] | None,
    *,
    root_path: str,
    state: dict[str, Any],
    client_address: tuple[str, int] | None = None,
    **kwargs: Any,
) -> Scope:
    """The ASGI scope a server would build for a WebSocket handshake to ``url``."""
    headers = httpx.Headers(kwargs.pop("headers", None))
    headers.setdefault("connection", "upgrade")
    headers.setdefault("sec-websocket-key", "testserver==")
    headers.setdefault("sec-websocket-version", "13")
    if subprotocols is not None:
        headers.setdefault("sec-websocket-protocol", ", ".join(subprotocols))
    auth = kwargs.pop("auth", None)
    request = client.build_request("GET", url, headers=headers, **kwargs)
    if auth is not None:
        request = _authenticated(request, auth)
    scope = build_http_scope(request, root_path=root_path, state=state, scope_type="websocket")
    del scope["method"]
    scope["subprotocols"] = list(subprotocols or [])
    if client_address is not None:
        scope["client"] = client_address
    scope["extensions"] = {"websocket.http.response": {}}
    return scope


def _authenticated(request: httpx.Request, auth: Any) -> httpx.Request:
    """``request`` with ``auth`` applied, as ``client.get(..., auth=...)`` would do it."""
    if isinstance(auth, tuple):
        auth = httpx.BasicAuth(*auth)
    elif not isinstance(auth, httpx.Auth):
        # A plain callable, as httpx accepts: it takes the request and returns it.
        authenticated: httpx.Request = auth(request)
        return authenticated
    # The handshake is one request: the first step of the auth flow is all it gets.
    first: httpx.Request = next(auth.sync_auth_flow(request))
    return first


def text_frame(data: str) -> Message:
    """The ASGI message of a text frame from the client."""
    return {"type": "websocket.receive", "text": data}


def bytes_frame(data: bytes) -> Message:
    """The ASGI message of a binary frame from the client."""
    return {"type": "websocket.receive", "bytes": data}


def json_frame(data: Any, mode: Literal["text", "binary"]) -> Message:
    """``data`` as JSON in a text or binary frame."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return text_frame(text) if mode == "text" else bytes_frame(text.encode("utf-8"))


def decode_json(message: Message, mode: Literal["text", "binary"]) -> Any:
    """The JSON value in a frame the app sent."""
    if mode == "text":
        return json.loads(message["text"])
    return json.loads(message["bytes"].decode("utf-8"))


def check_data_frame(message: Message) -> Message:
    """``message`` if it carries data; raises WebSocketDisconnect if the app closed."""
    from trioapi.websockets import WebSocketDisconnect

    if message["type"] == "websocket.close":
        raise WebSocketDisconnect(message.get("code", 1000), message.get("reason", ""))
    return message


class WebSocketDenialResponse(httpx.Response, Exception):  # type: ignore[misc]  # both bases pickle differently; never pickled
    """The app answered the WebSocket handshake with an HTTP response instead of accepting."""


def denial_response(start: Message, body: bytes) -> WebSocketDenialResponse:
    """The error for a handshake the app answered with ``start`` and ``body``."""
    return WebSocketDenialResponse(
        status_code=start["status"], headers=start.get("headers", []), content=body
    )


class _WebSocketCall:
    """The app's task and the two message queues between it and the client."""

    def __init__(self, app: ASGIApp, scope: Scope) -> None:
        self.app = app
        self.scope = scope
        self.to_app, self._app_inbox = trio.open_memory_channel[Message](math.inf)
        self._to_client, self.client_inbox = trio.open_memory_channel[Message](math.inf)
        self.error: Exception | None = None
        self.done = trio.Event()
        self._cancel_scope = trio.CancelScope()

    async def run(self) -> None:
        try:
            with self._cancel_scope:
                async with self._to_client:
                    await self.app(self.scope, self._app_inbox.receive, self._to_client.send)
        except Exception as exc:  # handed to the client side, which re-raises it
            self.error = exc
        finally:
            self.done.set()

    async def finish(self) -> None:
        """Wait for the app to end after the client closed; cancel it once it only waits.

        An app that ignores the disconnect (sleeps, or waits on something
        else) would hold the test forever; one still working on the
        disconnect (cleaning up) is let finish. A checkpoint.
        """
        async with trio.open_nursery() as nursery:

            async def cancel_when_idle() -> None:
                await wait_until_idle()
                self._cancel_scope.cancel()

            nursery.start_soon(cancel_when_idle)
            await self.done.wait()
            nursery.cancel_scope.cancel()

    async def receive_from_app(self) -> Message:
        try:
            return await self.client_inbox.receive()
        except trio.EndOfChannel:
            await self.done.wait()
            if self.error is not None:
                raise self.error from None
            return {"type": "websocket.close", "code": 1000, "reason": ""}


class WebSocketTestSession:
    """A blocking WebSocket connection to the app, used as a context manager."""

    def __init__(self, portal: LoopThread, call: _WebSocketCall, on_close: Any = None) -> None:
        self._portal = portal
        self._call = call
        self._on_close = on_close
        self.accepted_subprotocol: str | None = None
        self.extra_headers: list[tuple[bytes, bytes]] | None = None

    def __enter__(self) -> WebSocketTestSession:
        assert self._portal.nursery is not None
        self._portal.run_sync(self._portal.nursery.start_soon, self._call.run)
        try:
            self.send({"type": "websocket.connect"})
            message = self.receive()
            self._raise_on_close_or_denial(message)
        except BaseException:
            self._close_after_failure()
            raise
        self.accepted_subprotocol = message.get("subprotocol")
        self.extra_headers = message.get("headers")
        return self

    def _close_after_failure(self) -> None:
        self._portal.run(self._call.done.wait)
        if self._on_close is not None:
            self._on_close()

    def _raise_on_close_or_denial(self, message: Message) -> None:
        check_data_frame(message)
        if message["type"] == "websocket.http.response.start":
            body = b""
            while True:
                part = self.receive()
                body += part.get("body", b"")
                if not part.get("more_body", False):
                    break
            raise denial_response(message, body)

    def __exit__(self, *exc_info: object) -> None:
        try:
            self.close(1000)
            self._portal.run(self._call.finish)
        finally:
            if self._on_close is not None:
                self._on_close()
        if self._call.error is not None:
            raise self._call.error

    def send(self, message: Message) -> None:
        """Send a raw ASGI message to the app."""
        self._portal.run(self._call.to_app.send, message)

    def send_text(self, data: str) -> None:
        """Send a text frame."""
        self.send(text_frame(data))

    def send_bytes(self, data: bytes) -> None:
        """Send a binary frame."""
        self.send(bytes_frame(data))

    def send_json(self, data: Any, mode: Literal["text", "binary"] = "text") -> None:
        """Send ``data`` as JSON in a text (default) or binary frame."""
        self.send(json_frame(data, mode))

    def close(self, code: int = 1000, reason: str | None = None) -> None:
        """Tell the app the client closed the connection."""
        self.send({"type": "websocket.disconnect", "code": code, "reason": reason})

    def receive(self) -> Message:
        """The next raw ASGI message the app sent."""
        return self._portal.run(self._call.receive_from_app)

    def receive_text(self) -> str:
        """The next text frame; raises WebSocketDisconnect if the app closed."""
        message = self._receive_data()
        return str(message["text"])

    def receive_bytes(self) -> bytes:
        """The next binary frame; raises WebSocketDisconnect if the app closed."""
        message = self._receive_data()
        return bytes(message["bytes"])

    def receive_json(self, mode: Literal["text", "binary"] = "text") -> Any:
        """The next frame decoded as JSON."""
        return decode_json(self._receive_data(), mode)

    def _receive_data(self) -> Message:
        return check_data_frame(self.receive())
