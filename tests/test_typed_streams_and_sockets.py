"""Generator endpoints stream their items; typed WebSocket endpoints; custom route handlers."""

import json
from collections.abc import AsyncIterable, Callable, Iterable
from typing import Annotated

import pytest
from pydantic import BaseModel

from trioapi._routing.api_route import APIRoute
from trioapi.applications import TrioAPI
from trioapi.exceptions import RequestValidationError, ResponseValidationError
from trioapi.param_functions import Depends, Query
from trioapi.requests import Request
from trioapi.responses import Response, StreamingResponse
from trioapi.testclient import TestClient
from trioapi.websockets import WebSocket, WebSocketDisconnect


class Item(BaseModel):
    name: str


# --- generator endpoints ---------------------------------------------------------


def make_stream_app(log: list[str]) -> TrioAPI:
    app = TrioAPI()

    async def session():
        log.append("open")
        yield "session"
        log.append("close")

    @app.get("/items")
    async def items(s: Annotated[str, Depends(session)]) -> AsyncIterable[Item]:
        for name in ("a", "b"):
            log.append(f"yield {name}")
            yield {"name": name, "extra": "dropped"}

    @app.get("/items-sync")
    def items_sync() -> Iterable[Item]:
        yield Item(name="x")

    @app.get("/raw")
    async def raw():
        yield {"any": "thing"}

    @app.get("/text", response_class=StreamingResponse)
    async def text():
        yield "one,"
        yield b"two"

    return app


def test_generator_endpoint_streams_validated_json_lines_inside_its_dependencies():
    log: list[str] = []
    response = TestClient(make_stream_app(log)).get("/items")
    assert response.headers["content-type"] == "application/jsonl"
    assert [json.loads(line) for line in response.text.splitlines()] == [
        {"name": "a"},
        {"name": "b"},
    ]
    assert log == ["open", "yield a", "yield b", "close"]


def test_streamed_item_schema_is_titled_as_a_stream_item():
    # FastAPI names a streamed item's schema StreamItem_<unique id>; a type
    # that is not a model shows that name as its title.
    app = TrioAPI()

    @app.get("/tags")
    async def tags() -> AsyncIterable[dict[str, str]]:
        yield {"a": "b"}

    content = app.openapi()["paths"]["/tags"]["get"]["responses"]["200"]["content"]
    assert content["application/jsonl"]["itemSchema"] == {
        "type": "object",
        "additionalProperties": {"type": "string"},
        "title": "Streamitem Tags Tags Get",
    }


def test_streamed_items_follow_the_route_options_and_send_non_finite_floats_as_null():
    app = TrioAPI()

    class Note(BaseModel):
        name: str
        extra: str | None = None

    @app.get("/typed", response_model_exclude_none=True)
    async def typed() -> AsyncIterable[Note]:
        yield Note(name="a")

    @app.get("/untyped")
    async def untyped():
        yield {"x": float("nan"), "y": [float("inf")], float("inf"): 1}

    @app.get("/bad")
    async def bad() -> AsyncIterable[Note]:
        yield {"nope": 1}

    client = TestClient(app)
    assert client.get("/typed").text == '{"name":"a"}\n'
    assert client.get("/untyped").text == '{"x": null, "y": [null], "Infinity": 1}\n'
    with pytest.raises(ResponseValidationError, match="'response', 'name'"):
        client.get("/bad")


def test_sync_and_unannotated_generator_endpoints_stream_too():
    client = TestClient(make_stream_app([]))
    assert client.get("/items-sync").text == '{"name":"x"}\n'
    assert client.get("/raw").text == '{"any": "thing"}\n'


def test_streaming_response_class_sends_the_items_as_they_are():
    assert TestClient(make_stream_app([])).get("/text").text == "one,two"


# --- WebSockets ------------------------------------------------------------------


def make_socket_app(log: list[str]) -> TrioAPI:
    app = TrioAPI()

    async def connection_log():
        log.append("connected")
        yield
        log.append("closed")

    @app.websocket("/ws/{room}")
    async def chat(
        websocket: WebSocket,
        room: str,
        token: Annotated[str, Query()],
        _: Annotated[None, Depends(connection_log)],
    ):
        await websocket.accept()
        text = await websocket.receive_text()
        await websocket.send_text(f"{room}/{token}: {text}")
        await websocket.close()

    return app


def test_websocket_endpoint_receives_path_query_and_dependencies():
    log: list[str] = []
    client = TestClient(make_socket_app(log))
    with client.websocket_connect("/ws/lobby?token=t") as websocket:
        websocket.send_text("hello")
        assert websocket.receive_text() == "lobby/t: hello"
    assert log == ["connected", "closed"]


def test_websocket_validation_failure_closes_with_1008():
    client = TestClient(make_socket_app([]))
    with pytest.raises(WebSocketDisconnect) as info:
        with client.websocket_connect("/ws/lobby"):
            pass
    assert info.value.code == 1008
    assert json.loads(info.value.reason) == [
        {"type": "missing", "loc": ["query", "token"], "msg": "Field required", "input": None}
    ]


# --- get_route_handler -------------------------------------------------------------


class ErrorBodyRoute(APIRoute):
    def get_route_handler(self) -> Callable:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                response = await original(request)
            except RequestValidationError as exc:
                return Response(f"bad: {len(exc.errors())}", status_code=400)
            response.headers["X-Wrapped"] = "yes"
            return response

        return handler


def test_route_classes_can_wrap_the_route_handler():
    app = TrioAPI()
    app.router.route_class = ErrorBodyRoute

    @app.get("/n")
    async def number(n: int):
        return n

    client = TestClient(app)
    ok = client.get("/n?n=3")
    assert ok.json() == 3
    assert ok.headers["x-wrapped"] == "yes"
    bad = client.get("/n?n=x")
    assert (bad.status_code, bad.text) == (400, "bad: 1")
