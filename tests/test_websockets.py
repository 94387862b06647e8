"""WebSocket: the ASGI message order in both directions, frames, JSON, denial responses."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from trioapi.responses import PlainTextResponse
from trioapi.types import Message, Scope
from trioapi.websockets import (
    WebSocket,
    WebSocketClose,
    WebSocketDisconnect,
    WebSocketDisconnected,
    WebSocketState,
)


class FakeServer:
    """Feeds scripted messages to the app and records what it sends."""

    def __init__(self, *incoming: Message, fail_send: bool = False) -> None:
        self.incoming = list(incoming)
        self.sent: list[Message] = []
        self.fail_send = fail_send

    async def receive(self) -> Message:
        await trio.lowlevel.checkpoint()
        return self.incoming.pop(0)

    async def send(self, message: Message) -> None:
        await trio.lowlevel.checkpoint()
        if self.fail_send:
            raise trio.BrokenResourceError("connection lost")
        self.sent.append(message)


def make_scope(**extra: Any) -> Scope:
    scope: Scope = {
        "type": "websocket",
        "path": "/ws",
        "raw_path": b"/ws",
        "root_path": "",
        "scheme": "ws",
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "subprotocols": [],
    }
    scope.update(extra)
    return scope


CONNECT: Message = {"type": "websocket.connect"}
ACCEPT: Message = {"type": "websocket.accept", "subprotocol": None, "headers": []}


def text(data: str) -> Message:
    return {"type": "websocket.receive", "text": data}


def binary(data: bytes) -> Message:
    return {"type": "websocket.receive", "bytes": data}


def disconnect(code: int = 1000, reason: str | None = None) -> Message:
    return {"type": "websocket.disconnect", "code": code, "reason": reason}


def connect(server: FakeServer, scope: Scope | None = None) -> WebSocket:
    return WebSocket(scope or make_scope(), server.receive, server.send)


async def test_accept_echo_close_sends_exact_messages() -> None:
    server = FakeServer(CONNECT, text("hello"), binary(b"\x00\x01"))
    websocket = connect(server)
    await websocket.accept()
    await websocket.send_text(await websocket.receive_text())
    await websocket.send_bytes(await websocket.receive_bytes())
    await websocket.close(code=1001, reason="bye")
    assert server.sent == [
        ACCEPT,
        {"type": "websocket.send", "text": "hello"},
        {"type": "websocket.send", "bytes": b"\x00\x01"},
        {"type": "websocket.close", "code": 1001, "reason": "bye"},
    ]
    assert websocket.application_state == WebSocketState.DISCONNECTED
    assert websocket.client_state == WebSocketState.CONNECTED


async def test_accept_passes_subprotocol_and_headers_as_a_list() -> None:
    server = FakeServer(CONNECT)
    websocket = connect(server)
    await websocket.accept(subprotocol="chat", headers=iter([(b"x-a", b"1")]))
    assert server.sent == [
        {"type": "websocket.accept", "subprotocol": "chat", "headers": [(b"x-a", b"1")]}
    ]
    assert websocket.client_state == WebSocketState.CONNECTED
    assert websocket.application_state == WebSocketState.CONNECTED


async def test_accept_after_connect_was_received_does_not_receive_again() -> None:
    server = FakeServer(CONNECT)
    websocket = connect(server)
    assert await websocket.receive() == CONNECT
    await websocket.accept()
    assert server.sent == [ACCEPT]


async def test_websocket_is_an_http_connection_over_the_scope() -> None:
    websocket = connect(FakeServer(), make_scope(path="/chat"))
    assert websocket["path"] == "/chat"
    assert websocket.headers["host"] == "testserver"


def test_websocket_refuses_an_http_scope() -> None:
    server = FakeServer()
    with pytest.raises(ValueError, match="type 'websocket', got 'http'"):
        WebSocket({"type": "http"}, server.receive, server.send)


@pytest.mark.parametrize(
    ("frame", "mode"),
    [(text('{"a":[1,"é"]}'), "text"), (binary('{"a":[1,"é"]}'.encode()), "binary")],
)
async def test_receive_json_reads_text_and_binary_frames(frame: Message, mode: Any) -> None:
    server = FakeServer(CONNECT, frame)
    websocket = connect(server)
    await websocket.accept()
    assert await websocket.receive_json(mode=mode) == {"a": [1, "é"]}


async def test_receive_json_refuses_an_unknown_mode() -> None:
    websocket = connect(FakeServer(CONNECT))
    await websocket.accept()
    with pytest.raises(RuntimeError, match='"mode" argument should be "text" or "binary"'):
        await websocket.receive_json(mode="xml")  # type: ignore[arg-type]


async def test_send_json_is_compact_and_keeps_non_ascii() -> None:
    server = FakeServer(CONNECT)
    websocket = connect(server)
    await websocket.accept()
    await websocket.send_json({"a": [1, "é"]})
    await websocket.send_json({"b": None}, mode="binary")
    assert server.sent[1:] == [
        {"type": "websocket.send", "text": '{"a":[1,"é"]}'},
        {"type": "websocket.send", "bytes": b'{"b":null}'},
    ]
    with pytest.raises(RuntimeError, match='"mode" argument'):
        await websocket.send_json({}, mode="yaml")  # type: ignore[arg-type]


async def test_receive_raises_disconnect_with_code_and_reason() -> None:
    websocket = connect(FakeServer(CONNECT, disconnect(4001, "gone")))
    await websocket.accept()
    with pytest.raises(WebSocketDisconnect) as info:
        await websocket.receive_text()
    assert (info.value.code, info.value.reason) == (4001, "gone")
    assert websocket.client_state == WebSocketState.DISCONNECTED
    with pytest.raises(WebSocketDisconnected, match='Cannot call "receive" once a disconnect'):
        await websocket.receive()


async def test_iterators_stop_when_the_client_disconnects() -> None:
    server = FakeServer(CONNECT, text("a"), text("b"), disconnect())
    websocket = connect(server)
    await websocket.accept()
    assert [item async for item in websocket.iter_text()] == ["a", "b"]

    websocket = connect(FakeServer(CONNECT, binary(b"x"), disconnect()))
    await websocket.accept()
    assert [item async for item in websocket.iter_bytes()] == [b"x"]

    websocket = connect(FakeServer(CONNECT, text("[1]"), text('{"k":2}'), disconnect(1001)))
    await websocket.accept()
    assert [item async for item in websocket.iter_json()] == [[1], {"k": 2}]


async def test_receive_text_before_accept_is_refused() -> None:
    websocket = connect(FakeServer(CONNECT, text("early")))
    with pytest.raises(WebSocketDisconnected, match='Need to call "accept" first'):
        await websocket.receive_text()


async def test_first_message_must_be_connect() -> None:
    websocket = connect(FakeServer(text("hi")))
    with pytest.raises(RuntimeError, match='Expected ASGI message "websocket.connect"'):
        await websocket.receive()


async def test_connect_twice_is_out_of_order() -> None:
    websocket = connect(FakeServer(CONNECT, CONNECT))
    await websocket.accept()
    with pytest.raises(RuntimeError, match="but got 'websocket.connect'"):
        await websocket.receive()


async def test_send_before_accept_is_refused() -> None:
    server = FakeServer(CONNECT)
    websocket = connect(server)
    with pytest.raises(RuntimeError, match="but got 'websocket.send'"):
        await websocket.send_text("too early")
    assert server.sent == []


async def test_accept_twice_is_refused() -> None:
    websocket = connect(FakeServer(CONNECT))
    await websocket.accept()
    with pytest.raises(RuntimeError, match="but got 'websocket.accept'"):
        await websocket.accept()


async def test_send_after_close_is_refused() -> None:
    server = FakeServer(CONNECT)
    websocket = connect(server)
    await websocket.accept()
    await websocket.close()
    with pytest.raises(
        WebSocketDisconnected, match='Cannot call "send" once a close message has been sent'
    ):
        await websocket.send_text("late")
    assert server.sent == [ACCEPT, {"type": "websocket.close", "code": 1000, "reason": ""}]


async def test_close_before_accept_refuses_the_connection() -> None:
    server = FakeServer()
    websocket = connect(server)
    await websocket.close(code=1008)
    assert server.sent == [{"type": "websocket.close", "code": 1008, "reason": ""}]
    assert websocket.application_state == WebSocketState.DISCONNECTED


async def test_a_broken_transport_becomes_disconnect_1006() -> None:
    server = FakeServer(CONNECT, fail_send=True)
    websocket = connect(server)
    with pytest.raises(WebSocketDisconnect) as info:
        await websocket.accept()
    assert info.value.code == 1006
    assert websocket.application_state == WebSocketState.DISCONNECTED


async def test_denial_response_is_sent_with_prefixed_message_types() -> None:
    server = FakeServer()
    websocket = connect(server, make_scope(extensions={"websocket.http.response": {}}))
    await websocket.send_denial_response(PlainTextResponse("nope", status_code=403))
    assert server.sent == [
        {
            "type": "websocket.http.response.start",
            "status": 403,
            "headers": [(b"content-length", b"4"), (b"content-type", b"text/plain; charset=utf-8")],
        },
        {"type": "websocket.http.response.body", "body": b"nope"},
    ]
    assert websocket.application_state == WebSocketState.DISCONNECTED


async def test_denial_response_from_an_app_sending_plain_http_types_is_prefixed() -> None:
    server = FakeServer()
    websocket = connect(server, make_scope(extensions={"websocket.http.response": {}}))

    class PlainHTTPResponse(PlainTextResponse):
        async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
            await send({"type": "http.response.start", "status": 401, "headers": []})
            await send({"type": "http.response.body", "body": b"a", "more_body": True})
            await send({"type": "http.response.body", "body": b"b"})

    await websocket.send_denial_response(PlainHTTPResponse())
    assert [m["type"] for m in server.sent] == [
        "websocket.http.response.start",
        "websocket.http.response.body",
        "websocket.http.response.body",
    ]
    assert websocket.application_state == WebSocketState.DISCONNECTED


async def test_denial_response_without_the_extension_is_refused() -> None:
    server = FakeServer()
    websocket = connect(server)
    with pytest.raises(RuntimeError, match="doesn't support the Websocket Denial Response"):
        await websocket.send_denial_response(PlainTextResponse("nope", status_code=403))
    with pytest.raises(RuntimeError, match="doesn't support the Websocket Denial Response"):
        await websocket.send({"type": "websocket.http.response.start", "status": 403})
    assert server.sent == []


async def test_denial_response_allows_only_body_parts_after_start() -> None:
    websocket = connect(FakeServer(), make_scope(extensions={"websocket.http.response": {}}))
    await websocket.send({"type": "websocket.http.response.start", "status": 403, "headers": []})
    with pytest.raises(RuntimeError, match='Expected ASGI message "websocket.http.response.body"'):
        await websocket.send({"type": "websocket.send", "text": "x"})


async def test_websocket_close_app_sends_close() -> None:
    server = FakeServer(CONNECT)
    await WebSocketClose()(make_scope(), server.receive, server.send)
    await WebSocketClose(code=4000, reason="later")(make_scope(), server.receive, server.send)
    assert server.sent == [
        {"type": "websocket.close", "code": 1000, "reason": ""},
        {"type": "websocket.close", "code": 4000, "reason": "later"},
    ]


def test_websocket_disconnect_defaults() -> None:
    exc = WebSocketDisconnect()
    assert (exc.code, exc.reason) == (1000, "")
    assert (
        repr(WebSocketDisconnect(1001, "away")) == "WebSocketDisconnect(code=1001, reason='away')"
    )


def test_websocket_state_values_match_starlette() -> None:
    assert [(s.name, s.value) for s in WebSocketState] == [
        ("CONNECTING", 0),
        ("CONNECTED", 1),
        ("DISCONNECTED", 2),
        ("RESPONSE", 3),
    ]


def test_websocket_disconnected_is_still_a_runtime_error():
    assert issubclass(WebSocketDisconnected, RuntimeError)
