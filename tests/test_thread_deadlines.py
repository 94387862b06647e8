"""A deadline or a disconnect while the request waits on a worker thread.

Threads cannot be interrupted. The deadline is still answered (504) at the
deadline, by the watchdog (or the request's own guard task without a
lifespan); the thread's result is dropped when it returns, its limiter slot
stays held until then, and yield dependencies are torn down only after it.
"""

import contextlib
import logging
import threading
from typing import Annotated

import pytest
import trio

from tests.trio_support import call
from trioapi import Depends, TrioAPI
from trioapi.concurrency import run_in_threadpool, thread_limiter
from trioapi.testclient import TestClient
from trioapi.testing import AsyncTestClient

PATHS = ["/def", "/to-thread", "/threadpool", "/sync-dependency"]


def threads_in_use() -> int:
    default = trio.to_thread.current_default_thread_limiter()
    return int(thread_limiter().borrowed_tokens + default.borrowed_tokens)


def thread_app(log: list[str], release: threading.Event, timeout: float | None = 1) -> TrioAPI:
    """Four ways to wait on a thread, each behind a yield dependency."""
    app = TrioAPI()

    async def resource():
        log.append("resource opened")
        try:
            yield "resource"
        finally:
            log.append("resource closed")

    Resource = Annotated[str, Depends(resource)]

    def blocking(name: str) -> dict[str, str]:
        # A wait that outlives the test means the answer never came first.
        release.wait(10)
        log.append(f"{name} thread returned")
        return {"from": name}

    @app.get("/def", timeout=timeout)
    def def_endpoint(_: Resource):
        return blocking("def")

    @app.get("/to-thread", timeout=timeout)
    async def to_thread(_: Resource):
        return await trio.to_thread.run_sync(blocking, "to-thread")

    @app.get("/threadpool", timeout=timeout)
    async def threadpool(_: Resource):
        return await run_in_threadpool(blocking, "threadpool")

    def sync_dependency(_: Resource) -> dict[str, str]:
        return blocking("sync-dependency")

    @app.get("/sync-dependency", timeout=timeout)
    async def with_sync_dependency(value: Annotated[dict, Depends(sync_dependency)]):
        return value

    return app


def thread_name(path: str) -> str:
    return path.removeprefix("/")


@pytest.mark.parametrize("path", PATHS)
async def test_a_deadline_over_a_thread_answers_504_at_the_deadline(autojump_clock, path):
    log: list[str] = []
    release = threading.Event()
    held: list[int] = []

    def on_answer() -> None:
        log.append("answered")
        held.append(threads_in_use())
        release.set()

    start = trio.current_time()
    exchange = await call(thread_app(log, release), path, on_answer=on_answer)

    assert (exchange.status, exchange.json()) == (504, {"detail": "Gateway Timeout"})
    assert exchange.answered_at - start == pytest.approx(1, abs=0.06)
    # One response: the endpoint's result, once the thread returned, was dropped.
    assert [m["type"] for m in exchange.sent] == ["http.response.start", "http.response.body"]
    # The thread's limiter slot was still held when the 504 went.
    assert held == [1]
    # Teardown waited for the thread.
    assert log == [
        "resource opened",
        "answered",
        f"{thread_name(path)} thread returned",
        "resource closed",
    ]
    assert threads_in_use() == 0


@pytest.mark.parametrize("path", PATHS)
async def test_with_a_lifespan_the_watchdog_answers_the_deadline(autojump_clock, path):
    log: list[str] = []
    release = threading.Event()
    async with AsyncTestClient(thread_app(log, release)) as client:
        start = trio.current_time()
        response = await client.get(path)
        answered_at = trio.current_time()
        log.append("answered")
        release.set()
    assert (response.status_code, response.json()) == (504, {"detail": "Gateway Timeout"})
    assert answered_at - start == pytest.approx(1, abs=0.08)
    assert log == [
        "resource opened",
        "answered",
        f"{thread_name(path)} thread returned",
        "resource closed",
    ]


@pytest.mark.parametrize("with_lifespan", [False, True])
def test_test_client_gets_the_504_while_the_thread_still_runs(with_lifespan):
    log: list[str] = []
    release = threading.Event()
    client = TestClient(thread_app(log, release, timeout=0.1))
    with client if with_lifespan else contextlib.nullcontext():
        response = client.get("/def")
        log.append("answered")
        release.set()
    client.close()
    assert response.status_code == 504
    assert log == ["resource opened", "answered", "def thread returned", "resource closed"]


async def test_the_result_dropped_is_logged_at_debug(autojump_clock, caplog):
    log: list[str] = []
    release = threading.Event()
    with caplog.at_level(logging.DEBUG, logger="trioapi"):
        await call(
            thread_app(log, release),
            "/to-thread",
            on_answer=release.set,
            headers=[(b"x-request-id", b"abc")],
        )
    messages = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert (
        logging.DEBUG,
        "GET /to-thread (request id abc): response 200 dropped; "
        "the request already answered its deadline",
    ) in messages


async def test_a_thread_back_just_after_the_deadline_answers_504_itself(autojump_clock):
    log: list[str] = []
    release = threading.Event()
    exchanges = []

    async def request() -> None:
        exchanges.append(await call(thread_app(log, release), "/to-thread"))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(request)
        # Back past the deadline, before the request would be found stuck:
        # its own task answers, instead of sending the endpoint's 200.
        await trio.sleep(1.01)
        release.set()
    exchange = exchanges[0]
    assert (exchange.status, exchange.json()) == (504, {"detail": "Gateway Timeout"})
    assert [m["type"] for m in exchange.sent] == ["http.response.start", "http.response.body"]
    assert log == ["resource opened", "to-thread thread returned", "resource closed"]


@pytest.mark.parametrize("path", PATHS)
async def test_a_disconnect_while_a_thread_runs_waits_for_it_then_tears_down_once(
    autojump_clock, path
):
    log: list[str] = []
    release = threading.Event()
    app = thread_app(log, release, timeout=None)
    exchanges = []

    async def request() -> None:
        exchanges.append(await call(app, path, disconnect_after=0.5))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(request)
        await trio.sleep(2)
        # The client left at 0.5 s; the thread is still running.
        assert log == ["resource opened"]
        release.set()
    # No error answered to the client that left (the endpoint's own answer,
    # if it sent one, a server drops); teardown came after the thread.
    assert {m.get("status", 200) for m in exchanges[0].sent} <= {200}
    assert log == ["resource opened", f"{thread_name(path)} thread returned", "resource closed"]
