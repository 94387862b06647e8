"""Behaviour kept where the request path skips work: the cases each shortcut must not change.

``ExceptionMiddleware`` reads whether the response started from the request
context only when it is handed the request's own send; a middleware between
it and the server keeps it on its own wrapper. Yield dependencies are
entered without a helper frame; routes without dependencies skip the nesting.
"""

from typing import Annotated

import pytest

from trioapi import Depends, TrioAPI
from trioapi.exceptions import HTTPException
from trioapi.responses import Response, StreamingResponse
from trioapi.testclient import TestClient
from trioapi.types import Message, Receive, Scope, Send


class HoldBackStart:
    """A middleware that sends the response start only with the first body message."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        held: list[Message] = []

        async def holding_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                held.append(message)
                return
            if held:
                await send(held.pop())
            await send(message)

        await self.app(scope, receive, holding_send)


def failing_stream_app(*, fail_at_once: bool) -> TrioAPI:
    app = TrioAPI()

    @app.get("/stream")
    async def stream():
        async def chunks():
            if not fail_at_once:
                yield b"first"
            raise HTTPException(400, "too late")
            yield b"never"  # makes this a generator

        return StreamingResponse(chunks())

    return app


def test_a_handled_error_after_the_response_started_is_a_runtime_error():
    app = failing_stream_app(fail_at_once=False)

    with pytest.raises(RuntimeError, match="response already started") as info:
        TestClient(app).get("/stream")

    assert isinstance(info.value.__cause__, HTTPException)
    assert info.value.__cause__.detail == "too late"


def test_a_start_held_back_by_a_middleware_still_counts_as_started_inside_it():
    # The server has seen no start, but the router's layer has: the handler
    # must not answer (FastAPI's rule), so the error reaches the 500 layer.
    app = failing_stream_app(fail_at_once=True)
    app.add_middleware(HoldBackStart)

    response = TestClient(app, raise_server_exceptions=False).get("/stream")

    assert (response.status_code, response.text) == (500, "Internal Server Error")


def test_a_handled_error_before_the_start_is_answered_by_its_handler():
    app = TrioAPI()

    @app.get("/fail")
    async def fail():
        raise HTTPException(409, "conflict", headers={"X-Why": "because"})

    response = TestClient(app).get("/fail")

    assert (response.status_code, response.json()) == (409, {"detail": "conflict"})
    assert response.headers["x-why"] == "because"


def test_a_yield_dependency_that_never_yields_is_named_in_the_error():
    app = TrioAPI()

    async def empty():
        if False:
            yield "never"

    @app.get("/")
    async def endpoint(value: Annotated[str, Depends(empty)]):
        return value

    with pytest.raises(
        RuntimeError, match=r"The yield dependency .*empty\(\) returned without yielding"
    ):
        TestClient(app).get("/")


def test_a_route_without_dependencies_reports_every_parameter_error_at_once():
    app = TrioAPI()

    @app.get("/items/{item_id}")
    async def read(item_id: int, limit: int, q: str | None = None):
        return {"item_id": item_id}

    response = TestClient(app).get("/items/x", params={"limit": "many"})

    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [
        ["path", "item_id"],
        ["query", "limit"],
    ]


def test_a_dependency_status_and_header_reach_a_json_response():
    app = TrioAPI()

    async def mark(response: Response) -> None:
        response.status_code = 202
        response.headers["X-Marked"] = "yes"

    @app.get("/", dependencies=[Depends(mark)])
    async def endpoint():
        return {"ok": True}

    response = TestClient(app).get("/")

    assert (response.status_code, response.content) == (202, b'{"ok":true}')
    assert response.headers["x-marked"] == "yes"
    assert response.headers["content-length"] == "11"
    assert response.headers["content-type"] == "application/json"
