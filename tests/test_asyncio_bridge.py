"""The asyncio bridge: asyncio-only code awaited from endpoints and dependencies.

The "pool" here is asyncio-only on purpose: ``asyncio.get_running_loop()``,
``asyncio.sleep`` and an ``asyncio.Lock`` all fail outside an asyncio loop.
"""

import asyncio
import sys
from contextlib import asynccontextmanager
from typing import Annotated

import pytest
import trio
import trio_asyncio

from tests.serving import run_hypercorn
from tests.trio_support import call
from trioapi import Depends, HTTPException, Request, TrioAPI, WebSocket
from trioapi.asyncio_bridge import AsyncioBridgeError, open_asyncio_bridge, run_asyncio
from trioapi.testclient import TestClient
from trioapi.testing import AsyncTestClient


class AioPool:
    """A connection pool that only works on asyncio, with a log of what happened to it."""

    def __init__(self, size: int = 2) -> None:
        self.size = self.free = size
        self.log: list[str] = []
        self._lock: asyncio.Lock | None = None

    async def acquire(self) -> str:
        if self._lock is None:
            self._lock = asyncio.Lock()  # bound to the running asyncio loop
        async with self._lock:
            await asyncio.sleep(0)
            self.free -= 1
            self.log.append("acquire")
            return f"conn-{self.free}"

    async def release(self, conn: str) -> None:
        await asyncio.sleep(0.1)  # a teardown that really waits on asyncio
        self.free += 1
        self.log.append("release")

    async def query(self, conn: str, seconds: float) -> dict:
        task = asyncio.current_task()
        try:
            await asyncio.sleep(seconds)
        except asyncio.CancelledError:
            self.log.append("query cancelled in asyncio")
            raise
        self.log.append("query")
        return {"conn": conn, "asyncio_task": task is not None}


def build_app(pool: AioPool, **settings) -> TrioAPI:
    app = TrioAPI(**settings)

    async def connection():
        conn = await run_asyncio(pool.acquire)
        try:
            yield conn
        finally:
            await run_asyncio(pool.release, conn)

    Conn = Annotated[str, Depends(connection)]

    @app.get("/rows")
    async def rows(conn: Conn, seconds: float = 0.0):
        pool.log.append("endpoint")
        return await run_asyncio(pool.query, conn, seconds)

    @app.get("/error")
    async def error(conn: Conn):
        async def fail():
            await asyncio.sleep(0)
            raise HTTPException(409, "conflict in asyncio")

        return await run_asyncio(fail)

    return app


def test_endpoint_and_yield_dependency_await_asyncio_code_in_the_test_client():
    pool = AioPool()
    with TestClient(build_app(pool, asyncio_bridge=True)) as client:
        response = client.get("/rows")
        assert (response.status_code, response.json()) == (
            200,
            {"conn": "conn-1", "asyncio_task": True},
        )
    assert pool.log == ["acquire", "endpoint", "query", "release"]
    assert pool.free == pool.size


async def test_endpoint_and_yield_dependency_await_asyncio_code_in_the_async_client():
    pool = AioPool()
    async with AsyncTestClient(build_app(pool, asyncio_bridge=True)) as client:
        first = await client.get("/rows")
        second = await client.get("/rows")
    assert [first.json(), second.json()] == [{"conn": "conn-1", "asyncio_task": True}] * 2
    assert pool.log == ["acquire", "endpoint", "query", "release"] * 2


async def test_an_error_raised_in_asyncio_code_reaches_the_exception_handlers_as_itself():
    pool = AioPool()
    async with AsyncTestClient(build_app(pool, asyncio_bridge=True)) as client:
        response = await client.get("/error")
    assert (response.status_code, response.json()) == (409, {"detail": "conflict in asyncio"})
    assert pool.log == ["acquire", "release"]


async def test_run_asyncio_takes_an_awaitable_too_and_trio_asyncio_adapters_work():
    app = TrioAPI(asyncio_bridge=True)

    async def loop_name():
        await asyncio.sleep(0)
        return type(asyncio.get_running_loop()).__name__

    @app.get("/")
    async def endpoint():
        # Both forms run on the bridge's loop: the request runs inside it.
        return [await run_asyncio(loop_name()), await trio_asyncio.aio_as_trio(loop_name)()]

    async with AsyncTestClient(app) as client:
        response = await client.get("/")
    assert response.json() == ["TrioEventLoop", "TrioEventLoop"]


def test_without_the_opt_in_run_asyncio_fails_with_a_message_that_names_the_bridge():
    pool = AioPool()
    with TestClient(build_app(pool)) as client:
        with pytest.raises(
            AsyncioBridgeError, match=r"run_asyncio\(AioPool.acquire\): no asyncio bridge"
        ) as info:
            client.get("/rows")
    assert "TrioAPI(asyncio_bridge=True)" in str(info.value)
    assert "open_asyncio_bridge(app)" in str(info.value)
    assert "trioapi[asyncio]" in str(info.value)
    assert pool.log == []


def test_without_a_lifespan_the_bridge_is_not_open_and_the_message_says_why():
    # TestClient without `with` runs no lifespan, as in FastAPI, so no loop.
    client = TestClient(build_app(AioPool(), asyncio_bridge=True))
    with pytest.raises(AsyncioBridgeError, match=r"a test client must run it"):
        client.get("/rows")


def test_an_awaitable_that_cannot_run_is_closed_rather_than_left_unawaited():
    app = TrioAPI()

    @app.get("/")
    async def endpoint():
        return await run_asyncio(asyncio.sleep(0))

    # filterwarnings=error: a "coroutine was never awaited" warning would fail here.
    with pytest.raises(AsyncioBridgeError, match=r"run_asyncio\(sleep\)"):
        TestClient(app).get("/")


def test_without_trio_asyncio_installed_startup_fails_naming_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "trio_asyncio", None)  # import now raises ImportError
    with pytest.raises(AsyncioBridgeError, match=r"pip install 'trioapi\[asyncio\]'"):
        with TestClient(TrioAPI(asyncio_bridge=True)):
            pass


async def test_lifespan_helper_opens_the_loop_for_startup_requests_and_shutdown():
    log = []

    @asynccontextmanager
    async def lifespan(app):
        async with open_asyncio_bridge(app):
            queue = await run_asyncio(make_queue)
            log.append("startup")
            yield {"queue": queue}
            log.append(f"shutdown saw {await run_asyncio(queue.get)}")

    async def make_queue():
        return asyncio.Queue()  # bound to the running asyncio loop on first use

    app = TrioAPI(lifespan=lifespan)

    @app.post("/item/{item}")
    async def post_item(item: str, request: Request):
        await run_asyncio(request.state.queue.put, item)
        return {"size": request.state.queue.qsize()}

    async with AsyncTestClient(app) as client:
        response = await client.post("/item/a")
        assert response.json() == {"size": 1}
        bridge = app.asyncio_bridge
        assert bridge is not None and bridge.is_open
    assert log == ["startup", "shutdown saw a"]
    assert not bridge.is_open


async def test_disconnect_cancels_the_asyncio_query_and_the_connection_goes_back_once(
    autojump_clock,
):
    pool = AioPool()
    app = build_app(pool, asyncio_bridge=True)
    async with AsyncTestClient(app):
        exchange = await call(app, "/rows?seconds=100", disconnect_after=1)
    assert exchange.sent == []
    assert pool.log == ["acquire", "endpoint", "query cancelled in asyncio", "release"]
    assert pool.free == pool.size


async def test_deadline_cancels_the_asyncio_query_answers_504_and_tears_down_once(autojump_clock):
    pool = AioPool()
    async with AsyncTestClient(build_app(pool, asyncio_bridge=True, timeout=5)) as client:
        response = await client.get("/rows?seconds=100")
    assert (response.status_code, response.json()) == (504, {"detail": "Gateway Timeout"})
    assert pool.log == ["acquire", "endpoint", "query cancelled in asyncio", "release"]
    assert pool.free == pool.size


async def test_the_loop_closes_after_the_last_request_teardown_and_the_app_shutdown(
    autojump_clock,
):
    log = []
    loops = []

    @asynccontextmanager
    async def lifespan(app):
        yield
        log.append("app shutdown")

    app = TrioAPI(asyncio_bridge=True, lifespan=lifespan)

    async def on_asyncio(what: str, seconds: float):
        loops.append(asyncio.get_running_loop())
        await asyncio.sleep(seconds)
        log.append(what)

    async def resource():
        yield
        await run_asyncio(on_asyncio, "teardown on asyncio", 1)

    @app.get("/")
    async def endpoint(_: Annotated[None, Depends(resource)]):
        await run_asyncio(on_asyncio, "endpoint on asyncio", 3)
        return "ok"

    client = AsyncTestClient(app)
    responses = []
    async with trio.open_nursery() as nursery:
        await client.__aenter__()

        async def request():
            responses.append((await client.get("/")).json())

        nursery.start_soon(request)
        await trio.sleep(1)  # the endpoint is awaiting asyncio when shutdown begins
        await client.__aexit__(None, None, None)
        log.append("client closed")
    assert log == [
        "endpoint on asyncio",
        "teardown on asyncio",
        "app shutdown",
        "client closed",
    ]
    assert responses == ["ok"]
    assert loops[0] is loops[1] and loops[0].is_closed()


async def test_concurrent_dependencies_each_await_asyncio_code(autojump_clock):
    app = TrioAPI(asyncio_bridge=True)

    async def slow(seconds: float) -> float:
        await asyncio.sleep(seconds)
        return seconds

    async def first():
        return await run_asyncio(slow, 2)

    async def second():
        return await run_asyncio(slow, 3)

    @app.get("/")
    async def endpoint(a: Annotated[float, Depends(first)], b: Annotated[float, Depends(second)]):
        return {"a": a, "b": b, "at": trio.current_time()}

    async with AsyncTestClient(app) as client:
        started = trio.current_time()
        response = await client.get("/")
    body = response.json()
    assert (body["a"], body["b"]) == (2, 3)
    assert body["at"] - started == pytest.approx(3)  # side by side, not 5


async def test_served_by_hypercorn_a_disconnect_cancels_asyncio_and_tears_down_once():
    pool = AioPool()
    app = build_app(pool, asyncio_bridge=True)
    async with run_hypercorn(app) as url:
        host, port = url.removeprefix("http://").rsplit(":", 1)
        stream = await trio.open_tcp_stream(host, int(port))
        await stream.send_all(b"GET /rows?seconds=0.01 HTTP/1.1\r\nHost: a\r\n\r\n")
        with trio.fail_after(5):
            answer = await stream.receive_some()
            while b'"asyncio_task":true}' not in answer:
                answer += await stream.receive_some()
            while pool.free != pool.size:  # the first request's teardown (after its response)
                await trio.sleep(0.01)
            await stream.send_all(b"GET /rows?seconds=100 HTTP/1.1\r\nHost: a\r\n\r\n")
            while pool.log[-1] != "endpoint":
                await trio.sleep(0.01)
            await stream.aclose()
            while pool.free != pool.size:
                await trio.sleep(0.01)
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert pool.log == [
        *["acquire", "endpoint", "query", "release"],
        *["acquire", "endpoint", "query cancelled in asyncio", "release"],
    ]
    assert not app.asyncio_bridge.is_open


async def test_a_request_still_running_after_the_drain_grace_finds_the_bridge_closed(
    autojump_clock, caplog
):
    shutdown_at = []

    @asynccontextmanager
    async def lifespan(app):
        yield
        shutdown_at.append(trio.current_time())

    app = TrioAPI(asyncio_bridge=True, lifespan=lifespan)

    @app.get("/")
    async def endpoint():
        await trio.sleep(10)  # outlives the shutdown's wait (DRAIN_GRACE, 5 s)
        return await run_asyncio(asyncio.sleep, 0)

    client = AsyncTestClient(app)
    errors = []
    async with trio.open_nursery() as nursery:
        await client.__aenter__()

        async def request():
            try:
                await client.get("/")
            except AsyncioBridgeError as exc:
                errors.append(str(exc))

        nursery.start_soon(request)
        await trio.sleep(1)
        await client.__aexit__(None, None, None)
    assert shutdown_at == [pytest.approx(1 + 5)]  # shutdown began at 1 and waited 5 s
    assert errors == [
        "run_asyncio(sleep): the app's asyncio bridge has closed (its lifespan ended), so no "
        "asyncio code can run. Await asyncio code only while the app is served."
    ]
    assert "The asyncio loop closes with 1 request(s) still using it" in caplog.text


async def test_a_websocket_endpoint_awaits_asyncio_code_too():
    app = TrioAPI(asyncio_bridge=True)

    async def shout(text: str) -> str:
        await asyncio.sleep(0)
        return text.upper()

    @app.websocket("/ws")
    async def ws(websocket: WebSocket):
        await websocket.accept()
        await websocket.send_text(await run_asyncio(shout, await websocket.receive_text()))
        await websocket.close()

    async with AsyncTestClient(app) as client:
        async with client.websocket_connect("/ws") as session:
            await session.send_text("hello")
            assert await session.receive_text() == "HELLO"
