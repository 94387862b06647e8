"""The server side of a WebSocket conversation, as an object over ASGI messages.

:class:`WebSocket` keeps two state machines, one per direction, so that a
message sent or received out of the order the ASGI spec allows fails at once
with a message that says which call was out of place, instead of confusing the
server.
"""

from __future__ import annotations

import enum
import json
from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING, Any, Literal

import trio

from trioapi._shutdown import ServerGoingAway
from trioapi.requests import HTTPConnection
from trioapi.types import Message, Receive, Scope, Send

if TYPE_CHECKING:
    from trioapi.responses import Response

__all__ = [
    "WebSocket",
    "WebSocketClose",
    "WebSocketDisconnect",
    "WebSocketDisconnected",
    "WebSocketState",
]

_NOT_ACCEPTED = 'WebSocket is not connected. Need to call "accept" first.'
_BAD_MODE = 'The "mode" argument should be "text" or "binary".'


class WebSocketState(enum.Enum):
    """Where one direction of a WebSocket conversation is."""

    CONNECTING = 0
    CONNECTED = 1
    DISCONNECTED = 2
    RESPONSE = 3


class WebSocketDisconnect(Exception):
    """The connection closed: the client left, or the server could not send.

    Args:
        code: The WebSocket close code (1006 when sending failed).
        reason: The close reason the client gave, if any.
    """

    def __init__(self, code: int = 1000, reason: str | None = None) -> None:
        self.code = code
        self.reason = reason or ""

    def __str__(self) -> str:
        return f"{self.code}: {self.reason}" if self.reason else str(self.code)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, reason={self.reason!r})"


class WebSocketDisconnected(RuntimeError):
    """The app used a WebSocket that is not connected (before ``accept``, or after a close).

    A ``RuntimeError``, so code written against older releases that caught
    that still catches it.
    """


class WebSocket(HTTPConnection):
    """One WebSocket connection, handed to a WebSocket endpoint.

    Args:
        scope: The ASGI scope; its ``type`` must be ``"websocket"``.
        receive: The ASGI receive callable.
        send: The ASGI send callable.

    Raises:
        ValueError: The scope is not a WebSocket scope.
    """

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "websocket":
            raise ValueError(
                f"WebSocket needs an ASGI scope of type 'websocket', got {scope.get('type')!r}. "
                "Use Request for HTTP scopes."
            )
        super().__init__(scope)
        self._ws_receive = receive
        self._ws_send = send
        self.client_state = WebSocketState.CONNECTING
        self.application_state = WebSocketState.CONNECTING

    async def receive(self) -> Message:
        """Receive the next ASGI message, checking it comes in the order ASGI allows.

        A checkpoint (it waits for the server). Cancellation leaves the state unchanged.

        Raises:
            RuntimeError: The message is out of order, or the client already disconnected.
        """
        if self.client_state == WebSocketState.DISCONNECTED:
            raise WebSocketDisconnected(
                'Cannot call "receive" once a disconnect message has been received.'
            )
        message = await self._ws_receive()
        kind = message["type"]
        if self.client_state == WebSocketState.CONNECTING:
            if kind != "websocket.connect":
                raise RuntimeError(
                    f'Expected ASGI message "websocket.connect", but got {kind!r}. The first '
                    "message of a WebSocket conversation must be the connect request."
                )
            self.client_state = WebSocketState.CONNECTED
        elif kind == "websocket.disconnect":
            self.client_state = WebSocketState.DISCONNECTED
        elif kind != "websocket.receive":
            raise RuntimeError(
                f'Expected ASGI message "websocket.receive" or "websocket.disconnect", '
                f"but got {kind!r}."
            )
        return message

    async def send(self, message: Message) -> None:
        """Send an ASGI message, checking it is allowed in the current state.

        A checkpoint (it waits for the server).

        Raises:
            RuntimeError: The message is not allowed now (for example ``websocket.send``
                before ``accept``, or anything after ``close``).
            WebSocketDisconnect: The server could not deliver it (code 1006).
        """
        state = self.application_state
        if state == WebSocketState.DISCONNECTED:
            raise WebSocketDisconnected('Cannot call "send" once a close message has been sent.')
        self.application_state = self._next_send_state(state, message)
        try:
            await self._ws_send(message)
        except ServerGoingAway:
            # TrioAPI closed the socket with 1001 because the server is shutting down.
            self.application_state = WebSocketState.DISCONNECTED
            raise WebSocketDisconnect(code=1001) from None
        except (OSError, trio.BrokenResourceError, trio.ClosedResourceError):
            # The transport is gone: to the app this is the client leaving abnormally.
            self.application_state = WebSocketState.DISCONNECTED
            raise WebSocketDisconnect(code=1006) from None

    def _next_send_state(self, state: WebSocketState, message: Message) -> WebSocketState:
        kind = message["type"]
        if state == WebSocketState.CONNECTING:
            if kind == "websocket.accept":
                return WebSocketState.CONNECTED
            if kind == "websocket.close":
                return WebSocketState.DISCONNECTED
            if kind == "websocket.http.response.start":
                if not self._has_denial_extension():
                    raise RuntimeError(_NO_DENIAL_EXTENSION)
                return WebSocketState.RESPONSE
            raise RuntimeError(
                'Expected ASGI message "websocket.accept", "websocket.close" or '
                f'"websocket.http.response.start", but got {kind!r}.'
            )
        if state == WebSocketState.CONNECTED:
            if kind == "websocket.send":
                return WebSocketState.CONNECTED
            if kind == "websocket.close":
                return WebSocketState.DISCONNECTED
            raise RuntimeError(
                f'Expected ASGI message "websocket.send" or "websocket.close", but got {kind!r}.'
            )
        # RESPONSE: only body parts, until the last one.
        if kind != "websocket.http.response.body":
            raise RuntimeError(
                f'Expected ASGI message "websocket.http.response.body", but got {kind!r}.'
            )
        if message.get("more_body", False):
            return WebSocketState.RESPONSE
        return WebSocketState.DISCONNECTED

    def _has_denial_extension(self) -> bool:
        return "websocket.http.response" in (self.scope.get("extensions") or {})

    async def accept(
        self,
        subprotocol: str | None = None,
        headers: Iterable[tuple[bytes, bytes]] | None = None,
    ) -> None:
        """Accept the connection, first waiting for the client's connect request if needed.

        A checkpoint.

        Args:
            subprotocol: The subprotocol chosen from those the client offered.
            headers: Extra handshake response headers, as ``(name, value)`` bytes pairs.
        """
        if self.client_state == WebSocketState.CONNECTING:
            await self.receive()
        await self.send(
            {
                "type": "websocket.accept",
                "subprotocol": subprotocol,
                "headers": list(headers or []),
            }
        )

    async def _receive_data(self) -> Message:
        if self.application_state != WebSocketState.CONNECTED:
            raise WebSocketDisconnected(_NOT_ACCEPTED)
        message = await self.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
        return message

    async def receive_text(self) -> str:
        """Wait for the next text frame. A checkpoint.

        Raises:
            WebSocketDisconnect: The client disconnected.
            RuntimeError: The socket was not accepted.
        """
        message = await self._receive_data()
        return str(message["text"])

    async def receive_bytes(self) -> bytes:
        """Wait for the next binary frame. A checkpoint.

        Raises:
            WebSocketDisconnect: The client disconnected.
            RuntimeError: The socket was not accepted.
        """
        message = await self._receive_data()
        return bytes(message["bytes"])

    async def receive_json(self, mode: Literal["text", "binary"] = "text") -> Any:
        """Wait for the next frame and decode it as JSON. A checkpoint.

        Args:
            mode: ``"text"`` reads a text frame, ``"binary"`` a UTF-8 binary frame.

        Raises:
            WebSocketDisconnect: The client disconnected.
            RuntimeError: The socket was not accepted, or ``mode`` is unknown.
        """
        if mode not in ("text", "binary"):
            raise RuntimeError(_BAD_MODE)
        message = await self._receive_data()
        if mode == "text":
            return json.loads(message["text"])
        return json.loads(message["bytes"].decode("utf-8"))

    async def iter_text(self) -> AsyncIterator[str]:
        """Yield text frames until the client disconnects. Each step is a checkpoint."""
        try:
            while True:
                yield await self.receive_text()
        except WebSocketDisconnect:
            pass

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        """Yield binary frames until the client disconnects. Each step is a checkpoint."""
        try:
            while True:
                yield await self.receive_bytes()
        except WebSocketDisconnect:
            pass

    async def iter_json(self) -> AsyncIterator[Any]:
        """Yield text frames decoded as JSON until the client disconnects.

        Each step is a checkpoint.
        """
        try:
            while True:
                yield await self.receive_json()
        except WebSocketDisconnect:
            pass

    async def send_text(self, data: str) -> None:
        """Send a text frame. A checkpoint."""
        await self.send({"type": "websocket.send", "text": data})

    async def send_bytes(self, data: bytes) -> None:
        """Send a binary frame. A checkpoint."""
        await self.send({"type": "websocket.send", "bytes": data})

    async def send_json(self, data: Any, mode: Literal["text", "binary"] = "text") -> None:
        """Send ``data`` as compact JSON in a text (default) or binary frame. A checkpoint.

        Raises:
            RuntimeError: ``mode`` is unknown.
        """
        if mode not in ("text", "binary"):
            raise RuntimeError(_BAD_MODE)
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        if mode == "text":
            await self.send({"type": "websocket.send", "text": text})
        else:
            await self.send({"type": "websocket.send", "bytes": text.encode("utf-8")})

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        """Close the connection (or refuse it, before ``accept``). A checkpoint."""
        await self.send({"type": "websocket.close", "code": code, "reason": reason or ""})

    async def send_denial_response(self, response: Response) -> None:
        """Refuse the handshake with an HTTP response instead of accepting. A checkpoint.

        Raises:
            RuntimeError: The server does not support the denial response extension.
        """
        if not self._has_denial_extension():
            raise RuntimeError(_NO_DENIAL_EXTENSION)
        await response(self.scope, self.receive, self._send_denial_message)

    async def _send_denial_message(self, message: Message) -> None:
        # A response may send plain HTTP message types; on a WebSocket they carry a prefix.
        kind = message["type"]
        if kind.startswith("http.response."):
            message = {**message, "type": "websocket." + kind}
        await self.send(message)


_NO_DENIAL_EXTENSION = "The server doesn't support the Websocket Denial Response extension."


class WebSocketClose:
    """An ASGI app that closes (or refuses) a WebSocket connection.

    Args:
        code: The WebSocket close code.
        reason: The close reason.
    """

    def __init__(self, code: int = 1000, reason: str | None = None) -> None:
        self.code = code
        self.reason = reason or ""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send ``websocket.close``. A checkpoint."""
        await send({"type": "websocket.close", "code": self.code, "reason": self.reason})
