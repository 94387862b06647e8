"""Middleware on a TrioAPI app: ``add_middleware``, ``@app.middleware("http")`` and its faults."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

import pytest
import trio

from tests.middleware_support import Sent, body_receive, make_scope
from trioapi import BackgroundTasks, Depends, HTTPException, Request, TrioAPI
from trioapi.exceptions import TrioAPIError
from trioapi.middleware import Middleware
from trioapi.middleware.base import BaseHTTPMiddleware
from trioapi.responses import JSONResponse, PlainTextResponse, StreamingResponse
from trioapi.testing import AsyncTestClient
from trioapi.types import ASGIApp, Receive, Scope, Send


class Tag:
    """A pure ASGI middleware that logs its name on the way in and on the way out."""

    def __init__(self, app: ASGIApp, name: str, log: list[str]) -> None:
        self.app, self.name, self.log = app, name, log
        log.append(f"built {name}")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.log.append(f"{self.name} in")
        await self.app(scope, receive, send)
        self.log.append(f"{self.name} out")


def hello_app(log: list[str]) -> TrioAPI:
    app = TrioAPI()

    @app.get("/")
    async def hello() -> dict[str, str]:
        log.append("endpoint")
        return {"hello": "world"}

    return app


# -- add_middleware ----------------------------------------------------------------


async def test_last_added_middleware_is_the_outermost():
    log: list[str] = []
    app = hello_app(log)
    app.add_middleware(Tag, name="first", log=log)
    app.add_middleware(Tag, name="second", log=log)

    async with AsyncTestClient(app) as client:
        response = await client.get("/")

    assert response.json() == {"hello": "world"}
    assert log == [
        "built first",
        "built second",
        "second in",
        "first in",
        "endpoint",
        "first out",
        "second out",
    ]


async def test_middleware_list_runs_in_order_inside_added_middleware():
    log: list[str] = []
    app = TrioAPI(
        middleware=[Middleware(Tag, name="a", log=log), Middleware(Tag, name="b", log=log)]
    )
    app.add_middleware(Tag, name="added", log=log)

    @app.get("/")
    async def hello() -> str:
        return "hi"

    async with AsyncTestClient(app) as client:
        await client.get("/")

    assert [entry for entry in log if entry.endswith(" in")] == ["added in", "a in", "b in"]


async def test_stack_is_built_once_at_startup_not_per_request():
    log: list[str] = []
    app = hello_app(log)
    app.add_middleware(Tag, name="tag", log=log)

    async with AsyncTestClient(app) as client:
        log.append("started")
        await client.get("/")
        await client.get("/")

    assert log.count("built tag") == 1
    assert log.index("built tag") < log.index("started")


async def test_add_middleware_after_the_first_request_is_a_clear_error():
    log: list[str] = []
    app = hello_app(log)
    async with AsyncTestClient(app) as client:
        await client.get("/")
        with pytest.raises(
            TrioAPIError, match="Cannot add middleware Tag after an application has started"
        ):
            app.add_middleware(Tag, name="late", log=log)
    # A RuntimeError too, as in Starlette, for code that catches that.
    assert issubclass(TrioAPIError, RuntimeError)


async def test_add_middleware_inside_the_lifespan_is_refused():
    errors: list[str] = []

    @asynccontextmanager
    async def lifespan(app: TrioAPI):
        try:
            app.add_middleware(Tag, name="late", log=[])
        except TrioAPIError as exc:
            errors.append(str(exc))
        yield

    async with AsyncTestClient(TrioAPI(lifespan=lifespan)):
        pass

    assert len(errors) == 1
    assert "Add it where the app is created" in errors[0]


def test_middleware_decorator_only_knows_http():
    app = TrioAPI()
    with pytest.raises(ValueError, match=r'only middleware\("http"\) is supported'):
        app.middleware("websocket")


# -- @app.middleware("http") ---------------------------------------------------------


async def test_http_middleware_decorator_wraps_every_request_and_returns_the_function():
    app = hello_app([])

    async def add_header(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        response.headers["X-Path"] = request.url.path
        return response

    assert app.middleware("http")(add_header) is add_header

    async with AsyncTestClient(app) as client:
        found = await client.get("/")
        missing = await client.get("/nowhere")

    assert (found.status_code, found.json(), found.headers["x-path"]) == (
        200,
        {"hello": "world"},
        "/",
    )
    assert (missing.status_code, missing.headers["x-path"]) == (404, "/nowhere")


async def test_subclassed_base_http_middleware_is_added_like_any_other():
    class Deny(BaseHTTPMiddleware):
        async def dispatch(self, request: Request, call_next: Any) -> Any:
            if request.headers.get("x-token") != "secret":
                return PlainTextResponse("go away", status_code=401)
            return await call_next(request)

    app = hello_app([])
    app.add_middleware(Deny)

    async with AsyncTestClient(app) as client:
        refused = await client.get("/")
        allowed = await client.get("/", headers={"x-token": "secret"})

    assert (refused.status_code, refused.text) == (401, "go away")
    assert (allowed.status_code, allowed.json()) == (200, {"hello": "world"})


def streaming_app(log: list[str], proceed: trio.MemoryReceiveChannel[str]) -> TrioAPI:
    app = TrioAPI()

    @app.middleware("http")
    async def passthrough(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        log.append("middleware: call_next returned")
        return response

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def chunks():
            yield b"first;"
            log.append("endpoint: first chunk taken")
            word = await proceed.receive()  # only the client, after reading chunk one, sends this
            yield word.encode()
            log.append("endpoint: finished")

        return StreamingResponse(chunks(), media_type="text/plain")

    return app


async def test_streaming_response_streams_through_http_middleware():
    log: list[str] = []
    send_proceed, proceed = trio.open_memory_channel[str](0)
    app = streaming_app(log, proceed)

    # A middleware that buffered the body would wait for the endpoint, which
    # waits for the client: the bound turns that deadlock into a failure.
    with trio.fail_after(5):
        async with AsyncTestClient(app) as client, client.stream("GET", "/stream") as response:
            chunks = response.aiter_raw()
            first = await chunks.__anext__()
            log.append(f"client: got {first!r}")
            await send_proceed.send("second")
            rest = b"".join([chunk async for chunk in chunks])

    assert (first, rest) == (b"first;", b"second")
    assert log.index("client: got b'first;'") < log.index("endpoint: finished")
    assert log[0] == "middleware: call_next returned"


request_id: ContextVar[str] = ContextVar("request_id", default="unset")
user: ContextVar[str] = ContextVar("user", default="unset")


async def test_context_variables_cross_call_next_in_both_directions():
    app = TrioAPI()
    seen: dict[str, str] = {}

    @app.middleware("http")
    async def set_request_id(request: Request, call_next: Any) -> Any:
        request_id.set(request.headers["x-request-id"])
        response = await call_next(request)
        seen["middleware sees user"] = user.get()
        return response

    @app.get("/")
    async def endpoint() -> dict[str, str]:
        seen["endpoint sees request_id"] = request_id.get()
        user.set("alice")
        return {}

    async def run() -> None:  # in a task of its own, so nothing leaks into the test's context
        async with AsyncTestClient(app) as client:
            await client.get("/", headers={"x-request-id": "req-7"})

    async with trio.open_nursery() as nursery:
        nursery.start_soon(run)

    assert seen == {"endpoint sees request_id": "req-7", "middleware sees user": "alice"}
    assert (request_id.get(), user.get()) == ("unset", "unset")


async def test_context_set_by_a_yield_dependency_reaches_the_middleware_but_not_from_a_thread():
    app = TrioAPI()
    seen: dict[str, str] = {}

    @app.middleware("http")
    async def record(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        seen[request.url.path] = user.get()
        return response

    async def current_user() -> AsyncIterator[str]:
        user.set("from-dependency")
        yield "carol"

    @app.get("/dependency")
    async def with_dependency(name: str = Depends(current_user)) -> str:
        return name

    @app.get("/sync")
    def sync_endpoint() -> str:
        # A def endpoint runs in a worker thread on a copy of the context, as
        # in FastAPI: what it sets stays in that thread.
        user.set("from-thread")
        return "ok"

    async def run() -> None:
        async with AsyncTestClient(app) as client:
            await client.get("/dependency")
            await client.get("/sync")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(run)

    assert seen == {"/dependency": "from-dependency", "/sync": "unset"}


async def test_background_tasks_run_after_the_response_through_http_middleware():
    app = TrioAPI()
    log: list[str] = []

    @app.middleware("http")
    async def passthrough(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        log.append("middleware: got response")
        return response

    @app.post("/signup")
    async def signup(tasks: BackgroundTasks) -> dict[str, bool]:
        tasks.add_task(log.append, "background: welcome mail sent")
        return {"ok": True}

    async with AsyncTestClient(app) as client:
        response = await client.post("/signup")

    assert response.json() == {"ok": True}
    assert log == ["middleware: got response", "background: welcome mail sent"]


async def test_client_disconnect_cancels_the_endpoint_through_http_middleware(autojump_clock):
    app = TrioAPI()
    log: list[str] = []
    gone = trio.Event()

    @app.middleware("http")
    async def passthrough(request: Request, call_next: Any) -> Any:
        return await call_next(request)

    @app.get("/slow")
    async def slow() -> str:
        log.append("endpoint: working")
        gone.set()  # the client leaves while the endpoint works
        try:
            await trio.sleep(3600)
        finally:
            log.append("endpoint: cancelled")
        return "never"  # pragma: no cover - cancelled first

    sent = Sent()
    with trio.fail_after(60):
        await app(make_scope(path="/slow"), body_receive(disconnect=gone), sent)
    log.append("server: call returned")

    assert log == ["endpoint: working", "endpoint: cancelled", "server: call returned"]
    assert sent.messages == []


def handled_app() -> TrioAPI:
    app = TrioAPI()

    @app.middleware("http")
    async def passthrough(request: Request, call_next: Any) -> Any:
        return await call_next(request)

    @app.exception_handler(ValueError)
    async def value_error(request: Request, exc: ValueError) -> JSONResponse:
        return JSONResponse({"handled": str(exc), "type": type(exc).__name__}, status_code=409)

    @app.exception_handler(Exception)
    async def anything(request: Request, exc: Exception) -> PlainTextResponse:
        return PlainTextResponse(f"server error: {exc}", status_code=500)

    @app.get("/value")
    async def value() -> None:
        raise ValueError("bad value")

    @app.get("/in-a-nursery")
    async def in_a_nursery() -> None:
        async def fail() -> None:
            raise ValueError("from a child task")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(fail)

    @app.get("/missing")
    async def missing() -> None:
        raise HTTPException(status_code=404, detail="No such item", headers={"X-Why": "gone"})

    @app.get("/items/{item_id}")
    async def item(item_id: int) -> int:
        return item_id  # pragma: no cover - only the validation error is requested

    return app


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [
        ("/value", 409, {"handled": "bad value", "type": "ValueError"}),
        ("/in-a-nursery", 409, {"handled": "from a child task", "type": "ValueError"}),
        ("/missing", 404, {"detail": "No such item"}),
    ],
)
async def test_exceptions_reach_the_registered_handlers_through_http_middleware(path, status, body):
    async with AsyncTestClient(handled_app()) as client:
        response = await client.get(path)

    assert (response.status_code, response.json()) == (status, body)


async def test_validation_errors_keep_their_422_through_http_middleware():
    async with AsyncTestClient(handled_app()) as client:
        response = await client.get("/items/abc")

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "item_id"]


async def test_error_in_the_middleware_itself_reaches_the_500_handler():
    app = handled_app()

    @app.middleware("http")
    async def broken(request: Request, call_next: Any) -> Any:
        raise LookupError("middleware broke")

    async with AsyncTestClient(app, raise_server_exceptions=False) as client:
        response = await client.get("/value")

    assert (response.status_code, response.text) == (500, "server error: middleware broke")
