"""Yield-dependency teardown as FastAPI 0.163 runs it, under outside cancellation.

The order dependencies are entered in (solving order, so a later failing
dependency's error reaches a function-scoped one already entered), where a
cancellation from outside is delivered (after an async teardown, never after
a response that is ready with nothing async left to tear down), and
``anyio.from_thread`` inside trioapi's worker threads.
"""

from __future__ import annotations

from typing import Any

import anyio.from_thread
import httpx
import pytest
import trio
import trio.testing

from tests.trio_support import http_scope
from trioapi import Depends, TrioAPI


def client_for(app: TrioAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


@pytest.mark.parametrize("scope", ["function", "request"])
async def test_a_later_dependency_error_is_thrown_into_a_yield_dependency_entered_before(scope):
    events: list[Any] = []
    error = ValueError("later dependency failed")

    async def resource():
        events.append("enter")
        try:
            yield
        except ValueError as exc:
            events.append(exc)
            raise
        finally:
            events.append("cleanup")

    async def later():
        raise error

    app = TrioAPI(dependencies=[Depends(resource, scope=scope), Depends(later)])

    @app.get("/")
    async def endpoint() -> None:
        pytest.fail("the endpoint must not run")  # pragma: no cover

    async with client_for(app) as client:
        with pytest.raises(ValueError, match="later dependency failed"):
            await client.get("/")
    assert events == ["enter", error, "cleanup"]


async def test_a_request_scoped_yield_dependency_still_encloses_the_function_scoped_ones():
    events = []

    def make(name: str):
        async def dependency():
            events.append(f"{name} enter")
            yield
            events.append(f"{name} exit")

        return dependency

    function_first = make("function")
    request_later = make("request")

    app = TrioAPI()

    @app.get("/")
    async def endpoint(
        _=Depends(function_first, scope="function"), __=Depends(request_later, scope="request")
    ) -> str:
        events.append("endpoint")
        return "ok"

    async with client_for(app) as client:
        response = await client.get("/")
    assert response.json() == "ok"
    assert events == [
        "request enter",
        "function enter",
        "endpoint",
        "function exit",
        "request exit",
    ]


async def test_a_cancellation_during_an_async_teardown_waits_for_it_then_is_delivered():
    events = []
    outside = trio.CancelScope()
    teardown_started = trio.Event()
    release = trio.Event()

    async def resource():
        try:
            yield
        finally:
            teardown_started.set()
            await release.wait()  # shielded: the cancellation waits for it
            events.append("cleanup end")

    app = TrioAPI()

    @app.get("/")
    async def endpoint(_=Depends(resource, scope="function")) -> str:
        return "ok"

    async def request() -> None:
        with outside:
            await client.get("/")
            events.append("response")  # pragma: no cover

    async with client_for(app) as client, trio.open_nursery() as nursery:
        nursery.start_soon(request)
        await teardown_started.wait()
        outside.cancel()
        await trio.testing.wait_all_tasks_blocked()
        assert events == []
        release.set()
    assert events == ["cleanup end"]
    assert outside.cancelled_caught


@pytest.mark.parametrize("dependency", ["none", "sync_yield"])
async def test_a_ready_response_is_returned_when_nothing_async_is_left_to_tear_down(dependency):
    events = []
    outside = trio.CancelScope()

    def sync_resource():
        try:
            yield 42
        finally:
            events.append("cleanup")

    dependencies = [Depends(sync_resource)] if dependency == "sync_yield" else []
    app = TrioAPI(dependencies=dependencies)

    @app.get("/")
    async def endpoint() -> dict[str, bool]:
        outside.cancel()  # pending: no checkpoint is left before the response
        return {"ok": True}

    async with client_for(app) as client:
        with outside:
            response = await client.get("/")
    assert response.json() == {"ok": True}
    assert not outside.cancelled_caught
    assert events == (["cleanup"] if dependency == "sync_yield" else [])


async def test_anyio_from_thread_works_in_sync_dependencies_and_endpoints():
    events = []

    async def note(what: str) -> None:
        await trio.sleep(0)
        events.append(what)

    def sync_resource():
        anyio.from_thread.run(note, "setup")
        yield
        anyio.from_thread.run(note, "teardown")

    app = TrioAPI()

    @app.get("/")
    def endpoint(_=Depends(sync_resource)) -> str:
        anyio.from_thread.run_sync(events.append, "endpoint")
        return "ok"

    async with client_for(app) as client:
        response = await client.get("/")
    assert response.json() == "ok"
    assert events == ["setup", "endpoint", "teardown"]


async def test_a_short_request_without_a_body_never_calls_receive():
    # FastAPI never reads a body it does not need; an app without a lifespan
    # starts reading the server (to notice a disconnect) only once the
    # request has run for a while.
    app = TrioAPI()

    @app.get("/")
    async def endpoint() -> str:
        await trio.testing.wait_all_tasks_blocked()  # every other task of the request ran
        return "ok"

    sent = []

    async def receive() -> dict:
        pytest.fail("receive() must not be called")  # pragma: no cover

    async def send(message: dict) -> None:
        sent.append(message)

    await app(http_scope("/"), receive, send)
    assert sent[0]["status"] == 200
    assert sent[-1]["body"] == b'"ok"'
