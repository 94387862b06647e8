"""Class-based endpoints: one method per HTTP verb, or per WebSocket event."""

from __future__ import annotations

import json
from collections.abc import Callable, Generator
from typing import Any, Literal

from trioapi import status
from trioapi._routing.routes import method_not_allowed_response
from trioapi.concurrency import is_async_callable, run_in_threadpool
from trioapi.requests import Request
from trioapi.responses import Response
from trioapi.types import Message, Receive, Scope, Send
from trioapi.websockets import WebSocket

__all__ = ["HTTPEndpoint", "WebSocketEndpoint"]

_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "QUERY")


class HTTPEndpoint:
    """An ASGI app that answers each HTTP method with the method of the same name.

    Define ``async def get(self, request)`` (or a plain ``def``, run in a worker
    thread), ``post``, and so on; each returns a :class:`Response`. ``HEAD``
    falls back to ``get``. A method with no handler gets ``405 Method Not
    Allowed`` with an ``Allow`` header.

    Args:
        scope: The ASGI scope; its ``type`` must be ``"http"``.
        receive: The ASGI receive callable.
        send: The ASGI send callable.

    Raises:
        ValueError: The scope is not an HTTP scope.
    """

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            raise ValueError(
                f"HTTPEndpoint needs an ASGI scope of type 'http', got {scope.get('type')!r}. "
                "Use WebSocketEndpoint for WebSocket routes."
            )
        self.scope = scope
        self.receive = receive
        self.send = send
        # HEAD is served by ``get`` when there is no ``head``, so Allow lists it too.
        self._allowed_methods = [
            method
            for method in _METHODS
            if getattr(self, method.lower(), None) is not None
            or (method == "HEAD" and getattr(self, "get", None) is not None)
        ]

    def __await__(self) -> Generator[Any, None, None]:
        return self.dispatch().__await__()

    async def dispatch(self) -> None:
        """Call the handler for the request's method and send what it returns.

        A checkpoint. Cancellation stops the handler (a sync handler's thread
        finishes first) and the response is not sent.
        """
        request = Request(self.scope, receive=self.receive, send=self.send)
        method = str(self.scope["method"]).upper()
        name = method.lower()
        if method == "HEAD" and getattr(self, "head", None) is None:
            name = "get"
        # Only HTTP verbs dispatch: a method named "_DO_DELETE" must not reach a helper.
        found = getattr(self, name, None) if method in _METHODS else None
        handler: Callable[[Request], Any] = found or self.method_not_allowed
        if is_async_callable(handler):
            response: Response = await handler(request)
        else:
            response = await run_in_threadpool(handler, request)
        await response(self.scope, self.receive, self.send)

    async def method_not_allowed(self, request: Request) -> Response:
        """Answer 405 with an ``Allow`` header listing the methods this endpoint has.

        Inside an application (``"app"`` in the scope) it raises
        ``HTTPException(405)`` instead, so the app's exception handlers render it.
        Not a checkpoint.
        """
        return method_not_allowed_response(self.scope, ", ".join(self._allowed_methods))


class WebSocketEndpoint:
    """An ASGI app that handles a WebSocket through ``on_connect``/``on_receive``/``on_disconnect``.

    Set :attr:`encoding` to have each frame decoded before ``on_receive``:
    ``"text"``, ``"bytes"``, ``"json"``, or ``None`` for the raw text or bytes.
    A frame of the wrong kind, or malformed JSON, closes the socket with 1003
    and raises ``RuntimeError``.

    Args:
        scope: The ASGI scope; its ``type`` must be ``"websocket"``.
        receive: The ASGI receive callable.
        send: The ASGI send callable.

    Raises:
        ValueError: The scope is not a WebSocket scope.
    """

    encoding: Literal["text", "bytes", "json"] | None = None

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "websocket":
            raise ValueError(
                f"WebSocketEndpoint needs an ASGI scope of type 'websocket', got "
                f"{scope.get('type')!r}. Use HTTPEndpoint for HTTP routes."
            )
        self.scope = scope
        self.receive = receive
        self.send = send

    def __await__(self) -> Generator[Any, None, None]:
        return self.dispatch().__await__()

    async def dispatch(self) -> None:
        """Run the conversation: connect, each received frame, then disconnect.

        A checkpoint. ``on_disconnect`` runs however the loop ends: with the
        client's close code, or 1011 if a handler raised. On cancellation it
        runs too, but is itself cancelled at its first checkpoint.
        """
        websocket = WebSocket(self.scope, receive=self.receive, send=self.send)
        await self.on_connect(websocket)
        close_code = status.WS_1000_NORMAL_CLOSURE
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    close_code = int(message.get("code") or status.WS_1000_NORMAL_CLOSURE)
                    break
                data = await self.decode(websocket, message)
                await self.on_receive(websocket, data)
        except Exception:
            close_code = status.WS_1011_INTERNAL_ERROR
            raise
        finally:
            await self.on_disconnect(websocket, close_code)

    async def decode(self, websocket: WebSocket, message: Message) -> Any:
        """Decode a ``websocket.receive`` message according to :attr:`encoding`.

        A checkpoint only when it closes the socket.

        Raises:
            RuntimeError: The frame does not fit the encoding (the socket is closed with 1003).
        """
        text: str | None = message.get("text")
        data: bytes | None = message.get("bytes")
        if self.encoding == "text":
            if text is None:
                await websocket.close(code=status.WS_1003_UNSUPPORTED_DATA)
                raise RuntimeError("Expected text websocket messages, but got bytes.")
            return text
        if self.encoding == "bytes":
            if data is None:
                await websocket.close(code=status.WS_1003_UNSUPPORTED_DATA)
                raise RuntimeError("Expected bytes websocket messages, but got text.")
            return data
        if self.encoding == "json":
            try:
                return json.loads(text if text is not None else (data or b"").decode("utf-8"))
            except ValueError:  # JSONDecodeError and UnicodeDecodeError are both ValueErrors
                await websocket.close(code=status.WS_1003_UNSUPPORTED_DATA)
                raise RuntimeError("Malformed JSON data received.") from None
        return text if text is not None else data

    async def on_connect(self, websocket: WebSocket) -> None:
        """Called when the client connects; the default accepts. A checkpoint."""
        await websocket.accept()

    async def on_receive(self, websocket: WebSocket, data: Any) -> None:
        """Called with each decoded frame; the default does nothing."""

    async def on_disconnect(self, websocket: WebSocket, close_code: int) -> None:
        """Called once the conversation ends, with its close code; the default does nothing."""
