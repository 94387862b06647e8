from __future__ import annotations

import httpx
import pytest

from tests.middleware_support import Sent, make_scope
from tests.serving import run_hypercorn
from trioapi.applications import Starlette
from trioapi.exceptions import HTTPException
from trioapi.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY, RequestBodyLimitMiddleware
from trioapi.requests import Request
from trioapi.responses import PlainTextResponse, Response
from trioapi.routing import Mount, Route, Router
from trioapi.testclient import TestClient
from trioapi.types import Message, Receive, Scope, Send


async def echo(request: Request) -> Response:
    return Response(await request.body())


def chunks(*parts: bytes):
    messages = [{"type": "http.request", "body": part, "more_body": True} for part in parts]
    messages.append({"type": "http.request", "body": b"", "more_body": False})
    it = iter(messages)

    async def receive() -> Message:
        return next(it)

    return receive


async def call(app, *, scope: Scope, receive: Receive | None = None) -> Sent:
    sent = Sent()
    await app(scope, receive or chunks(), sent)
    return sent


def app_with_limits() -> Starlette:
    return Starlette(
        routes=[
            Route("/", echo, methods=["POST"]),
            Route("/big", echo, methods=["POST"], max_body_size=10),
            Route("/tiny", echo, methods=["POST"], max_body_size=2),
            Mount("/upload", routes=[Route("/", echo, methods=["POST"])], max_body_size=10),
        ],
        max_body_size=5,
    )


def test_body_at_the_limit_passes_and_one_byte_more_is_a_plain_413():
    client = TestClient(app_with_limits())

    assert client.post("/", content=b"12345").content == b"12345"
    refused = client.post("/", content=b"123456")
    assert (refused.status_code, refused.text) == (413, "Content Too Large")


def test_routes_and_mounts_replace_the_application_limit_up_or_down():
    client = TestClient(app_with_limits())

    assert client.post("/big", content=b"12345678").status_code == 200
    assert client.post("/upload/", content=b"12345678").status_code == 200
    assert client.post("/tiny", content=b"123").status_code == 413


def test_router_limit():
    client = TestClient(Router(routes=[Route("/", echo, methods=["POST"])], max_body_size=3))

    assert client.post("/", content=b"1234").status_code == 413


async def test_declared_length_is_refused_without_reading_the_body():
    reads: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await PlainTextResponse("answered without reading")(scope, receive, send)

    async def receive() -> Message:
        reads.append("read")
        return {"type": "http.request", "body": b"x" * 100}

    scope = make_scope(method="POST", headers=[("content-length", "100")])
    sent = await call(
        RequestBodyLimitMiddleware(app, max_body_size=5), scope=scope, receive=receive
    )

    assert (sent.status, sent.body) == (413, b"Content Too Large")
    assert reads == []


async def test_streamed_bytes_are_counted_without_a_content_length():
    sent = await call(
        RequestBodyLimitMiddleware(
            Router(routes=[Route("/", echo, methods=["POST"])]), max_body_size=5
        ),
        scope=make_scope(method="POST"),
        receive=chunks(b"123", b"456"),
    )

    assert (sent.status, sent.body) == (413, b"Content Too Large")


async def test_passing_the_limit_after_the_response_started_raises_413():
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        while (await receive()).get("more_body"):
            pass

    with pytest.raises(HTTPException) as raised:
        await call(
            RequestBodyLimitMiddleware(app, 5),
            scope=make_scope(method="POST"),
            receive=chunks(b"123456"),
        )

    assert raised.value.status_code == 413


async def test_the_limit_in_force_is_in_the_scope_and_restored_after():
    seen: list[int] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope[MAX_BODY_SIZE_SCOPE_KEY])
        await PlainTextResponse("ok")(scope, receive, send)

    scope = make_scope(method="POST")
    scope[MAX_BODY_SIZE_SCOPE_KEY] = 99
    await call(RequestBodyLimitMiddleware(RequestBodyLimitMiddleware(app, 7), 5), scope=scope)

    assert seen == [7]
    assert scope[MAX_BODY_SIZE_SCOPE_KEY] == 99


async def test_body_limit_through_hypercorn():
    async with run_hypercorn(app_with_limits()) as url, httpx.AsyncClient(base_url=url) as client:
        ok = await client.post("/", content=b"12345")
        declared = await client.post("/", content=b"x" * 1000)

        async def stream():
            yield b"123"
            yield b"456"

        streamed = await client.post("/", content=stream())
        raised = await client.post("/big", content=b"x" * 8)

    assert (ok.status_code, ok.content) == (200, b"12345")
    assert (declared.status_code, declared.text) == (413, "Content Too Large")
    assert (streamed.status_code, streamed.text) == (413, "Content Too Large")
    assert raised.status_code == 200
