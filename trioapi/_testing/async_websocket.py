"""The async test client's side of a WebSocket conversation with an in-process app."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Literal

import trio

from trioapi._testing.websocket import (
    _WebSocketCall,
    bytes_frame,
    check_data_frame,
    decode_json,
    denial_response,
    json_frame,
    text_frame,
)
from trioapi.types import Message


class AsyncWebSocketTestSession:
    """A WebSocket connection to the app, used with ``async with`` in a Trio test.

    The app's side runs as a task in the client's nursery; leaving the block
    closes the connection (code 1000) and waits for the app to finish,
    re-raising what it raised.
    """

    def __init__(self, nursery: trio.Nursery, call: _WebSocketCall) -> None:
        self._nursery = nursery
        self._call = call
        self.accepted_subprotocol: str | None = None
        self.extra_headers: list[tuple[bytes, bytes]] | None = None

    async def __aenter__(self) -> AsyncWebSocketTestSession:
        self._nursery.start_soon(self._call.run)
        try:
            await self.send({"type": "websocket.connect"})
            message = await self.receive()
            check_data_frame(message)
            if message["type"] == "websocket.http.response.start":
                raise denial_response(message, await self._read_denial_body())
        except BaseException:
            # Also when the client gave up (cancelled): the app hears it went away.
            self._call.to_app.send_nowait({"type": "websocket.disconnect", "code": 1006})
            await self._call.done.wait()
            raise
        self.accepted_subprotocol = message.get("subprotocol")
        self.extra_headers = message.get("headers")
        return self

    async def _read_denial_body(self) -> bytes:
        body = b""
        while True:
            part = await self.receive()
            body += bytes(part.get("body", b""))
            if not part.get("more_body", False):
                return body

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # Without a checkpoint, so a cancelled block still tells the app (the
        # channel is unbounded); waiting for the app is then up to the caller.
        self._call.to_app.send_nowait(
            {"type": "websocket.disconnect", "code": 1000, "reason": None}
        )
        await self._call.done.wait()
        if self._call.error is not None:
            raise self._call.error

    async def send(self, message: Message) -> None:
        """Send a raw ASGI message to the app. A checkpoint."""
        await self._call.to_app.send(message)

    async def send_text(self, data: str) -> None:
        """Send a text frame."""
        await self.send(text_frame(data))

    async def send_bytes(self, data: bytes) -> None:
        """Send a binary frame."""
        await self.send(bytes_frame(data))

    async def send_json(self, data: Any, mode: Literal["text", "binary"] = "text") -> None:
        """Send ``data`` as JSON in a text (default) or binary frame."""
        await self.send(json_frame(data, mode))

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        """Tell the app the client closed the connection."""
        await self.send({"type": "websocket.disconnect", "code": code, "reason": reason})

    async def receive(self) -> Message:
        """The next raw ASGI message the app sent. Waits for it."""
        return await self._call.receive_from_app()

    async def receive_text(self) -> str:
        """The next text frame; raises WebSocketDisconnect if the app closed."""
        return str(check_data_frame(await self.receive())["text"])

    async def receive_bytes(self) -> bytes:
        """The next binary frame; raises WebSocketDisconnect if the app closed."""
        return bytes(check_data_frame(await self.receive())["bytes"])

    async def receive_json(self, mode: Literal["text", "binary"] = "text") -> Any:
        """The next frame decoded as JSON."""
        return decode_json(check_data_frame(await self.receive()), mode)
