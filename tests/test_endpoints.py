"""HTTPEndpoint and WebSocketEndpoint driven directly as ASGI apps."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import trio

from trioapi.endpoints import HTTPEndpoint, WebSocketEndpoint
from trioapi.exceptions import HTTPException
from trioapi.requests import Request
from trioapi.responses import PlainTextResponse, Response
from trioapi.types import Message, Scope
from trioapi.websockets import WebSocket


class FakeServer:
    """Feeds scripted messages to the app and records what it sends."""

    def __init__(self, *incoming: Message) -> None:
        self.incoming = list(incoming)
        self.sent: list[Message] = []

    async def receive(self) -> Message:
        await trio.lowlevel.checkpoint()
        return self.incoming.pop(0)

    async def send(self, message: Message) -> None:
        await trio.lowlevel.checkpoint()
        self.sent.append(message)


def http_scope(method: str, **extra: Any) -> Scope:
    scope: Scope = {
        "type": "http",
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
    }
    scope.update(extra)
    return scope


def ws_scope() -> Scope:
    return {
        "type": "websocket",
        "scheme": "ws",
        "path": "/ws",
        "raw_path": b"/ws",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "subprotocols": [],
    }


def plain(body: bytes, status: int = 200, **headers: bytes) -> list[Message]:
    raw = [(name.encode(), value) for name, value in headers.items()]
    raw += [
        (b"content-length", str(len(body)).encode()),
        (b"content-type", b"text/plain; charset=utf-8"),
    ]
    return [
        {"type": "http.response.start", "status": status, "headers": raw},
        {"type": "http.response.body", "body": body},
    ]


class Items(HTTPEndpoint):
    async def get(self, request: Request) -> Response:
        return PlainTextResponse(f"get {request.scope['method']}")

    def post(self, request: Request) -> Response:
        return PlainTextResponse(f"post in {threading.current_thread() is threading.main_thread()}")


async def run_http(endpoint: type[HTTPEndpoint], scope: Scope) -> list[Message]:
    server = FakeServer({"type": "http.request", "body": b"", "more_body": False})
    await endpoint(scope, server.receive, server.send)
    return server.sent


async def test_get_is_dispatched_to_the_async_handler() -> None:
    assert await run_http(Items, http_scope("GET")) == plain(b"get GET")


async def test_head_falls_back_to_get() -> None:
    assert await run_http(Items, http_scope("HEAD")) == plain(b"get HEAD")


async def test_head_uses_its_own_handler_when_defined() -> None:
    class WithHead(Items):
        async def head(self, request: Request) -> Response:
            return PlainTextResponse("", headers={"x-head": "yes"})

    sent = await run_http(WithHead, http_scope("HEAD"))
    assert sent[0]["headers"][0] == (b"x-head", b"yes")


async def test_sync_handler_runs_in_a_worker_thread() -> None:
    assert await run_http(Items, http_scope("POST")) == plain(b"post in False")


async def test_missing_method_answers_405_with_allow_header() -> None:
    sent = await run_http(Items, http_scope("DELETE"))
    assert sent == plain(b"Method Not Allowed", status=405, allow=b"GET, HEAD, POST")


async def test_missing_method_inside_an_app_raises_http_exception() -> None:
    with pytest.raises(HTTPException, match="405: Method Not Allowed") as info:
        await run_http(Items, http_scope("PUT", app=object()))
    assert info.value.headers == {"Allow": "GET, HEAD, POST"}


def test_http_endpoint_refuses_a_websocket_scope() -> None:
    server = FakeServer()
    with pytest.raises(ValueError, match="type 'http', got 'websocket'"):
        HTTPEndpoint(ws_scope(), server.receive, server.send)


class Recorder(WebSocketEndpoint):
    """Echoes each decoded frame's repr and records the disconnect code."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.events: list[Any] = []

    async def on_receive(self, websocket: WebSocket, data: Any) -> None:
        self.events.append(data)
        await websocket.send_text(repr(data))

    async def on_disconnect(self, websocket: WebSocket, close_code: int) -> None:
        self.events.append(("disconnect", close_code))


async def run_ws(encoding: Any, *frames: Message) -> tuple[Recorder, FakeServer]:
    server = FakeServer({"type": "websocket.connect"}, *frames)
    endpoint = type("Endpoint", (Recorder,), {"encoding": encoding})(
        ws_scope(), server.receive, server.send
    )
    await endpoint
    return endpoint, server


ACCEPT: Message = {"type": "websocket.accept", "subprotocol": None, "headers": []}
DISCONNECT: Message = {"type": "websocket.disconnect", "code": 1001}


async def test_text_endpoint_receives_strings_and_the_close_code() -> None:
    endpoint, server = await run_ws("text", {"type": "websocket.receive", "text": "hi"}, DISCONNECT)
    assert endpoint.events == ["hi", ("disconnect", 1001)]
    assert server.sent == [ACCEPT, {"type": "websocket.send", "text": "'hi'"}]


async def test_bytes_endpoint_receives_bytes() -> None:
    endpoint, _ = await run_ws("bytes", {"type": "websocket.receive", "bytes": b"\x01"}, DISCONNECT)
    assert endpoint.events == [b"\x01", ("disconnect", 1001)]


async def test_json_endpoint_decodes_text_and_binary_frames() -> None:
    endpoint, _ = await run_ws(
        "json",
        {"type": "websocket.receive", "text": '{"a":1}'},
        {"type": "websocket.receive", "bytes": b"[2]"},
        DISCONNECT,
    )
    assert endpoint.events == [{"a": 1}, [2], ("disconnect", 1001)]


async def test_endpoint_without_encoding_passes_raw_frames() -> None:
    endpoint, _ = await run_ws(
        None,
        {"type": "websocket.receive", "text": "t", "bytes": None},
        {"type": "websocket.receive", "bytes": b"b"},
        {"type": "websocket.disconnect"},
    )
    assert endpoint.events == ["t", b"b", ("disconnect", 1000)]


async def test_malformed_json_closes_with_1003_and_raises() -> None:
    server = FakeServer({"type": "websocket.connect"}, {"type": "websocket.receive", "text": "{"})
    endpoint = type("Endpoint", (Recorder,), {"encoding": "json"})(
        ws_scope(), server.receive, server.send
    )
    with pytest.raises(RuntimeError, match="Malformed JSON data received."):
        await endpoint
    assert server.sent == [ACCEPT, {"type": "websocket.close", "code": 1003, "reason": ""}]
    assert endpoint.events == [("disconnect", 1011)]


@pytest.mark.parametrize(
    ("encoding", "frame", "error"),
    [
        ("text", {"type": "websocket.receive", "bytes": b"x"}, "Expected text"),
        ("bytes", {"type": "websocket.receive", "text": "x"}, "Expected bytes"),
    ],
)
async def test_wrong_frame_kind_closes_with_1003(encoding: str, frame: Message, error: str) -> None:
    server = FakeServer({"type": "websocket.connect"}, frame)
    endpoint = type("Endpoint", (Recorder,), {"encoding": encoding})(
        ws_scope(), server.receive, server.send
    )
    with pytest.raises(RuntimeError, match=error):
        await endpoint
    assert server.sent[-1] == {"type": "websocket.close", "code": 1003, "reason": ""}


def test_websocket_endpoint_refuses_an_http_scope() -> None:
    server = FakeServer()
    with pytest.raises(ValueError, match="type 'websocket', got 'http'"):
        WebSocketEndpoint(http_scope("GET"), server.receive, server.send)


def test_query_method_dispatches_and_only_verbs_dispatch():
    from trioapi.endpoints import HTTPEndpoint
    from trioapi.responses import PlainTextResponse
    from trioapi.routing import Route, Router
    from trioapi.testclient import TestClient

    class Endpoint(HTTPEndpoint):
        async def get(self, request):
            return PlainTextResponse("got")

        async def query(self, request):
            return PlainTextResponse("queried")

        async def _helper(self, request):
            return PlainTextResponse("private")  # pragma: no cover

    client = TestClient(Router(routes=[Route("/", Endpoint)]))

    assert client.request("QUERY", "/").text == "queried"
    refused = client.request("_HELPER", "/")
    assert (refused.status_code, refused.headers["allow"]) == (405, "GET, HEAD, QUERY")
