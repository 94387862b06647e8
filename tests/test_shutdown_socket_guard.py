"""A WebSocket that reaches the app after graceful shutdown began is accepted and closed with 1001.

Through hypercorn this is the chaos case ``ws-shutdown-ws.accept`` (tests/test_chaos.py);
here the guard's messages, one by one.
"""

from __future__ import annotations

from trioapi._shutdown import ServerShutdown
from trioapi.websockets import WebSocket, WebSocketDisconnect


async def test_an_accept_after_shutdown_began_completes_the_handshake_then_closes_1001():
    shutdown = ServerShutdown()
    await shutdown.begin()
    sent: list[dict[str, object]] = []
    incoming = [{"type": "websocket.connect"}]

    async def receive() -> dict[str, object]:
        return incoming.pop(0)

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    with shutdown.open_socket_guard(receive, send) as guard:
        socket = WebSocket(
            {"type": "websocket", "path": "/", "headers": []}, guard.receive, guard.send
        )
        await socket.accept()
        try:
            await socket.receive_text()
        except WebSocketDisconnect as disconnect:
            code = disconnect.code
    assert sent == [
        {"type": "websocket.accept", "subprotocol": None, "headers": []},
        {"type": "websocket.close", "code": 1001, "reason": "Server shutting down"},
    ]
    assert code == 1001
