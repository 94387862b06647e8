"""Injectable request-time helpers: RequestScope, RequestNursery, AppNursery."""

import math
from contextlib import asynccontextmanager
from typing import Annotated

import pytest
import trio

from tests.trio_support import call
from trioapi import AppNursery, Depends, RequestNursery, RequestScope, TrioAPI
from trioapi.testing import AsyncTestClient


async def test_a_dependency_reads_the_time_left_before_the_deadline(autojump_clock):
    app = TrioAPI(timeout=10)

    async def budget(scope: RequestScope) -> float:
        return scope.remaining()

    @app.get("/budget", timeout=5)
    async def endpoint(left: Annotated[float, Depends(budget)], scope: RequestScope):
        await trio.sleep(2)
        return {"at_start": left, "now": scope.remaining(), "id": scope.request_id}

    exchange = await call(app, "/budget", headers=[(b"x-request-id", b"req-1")])
    assert exchange.json() == {"at_start": 5.0, "now": 3.0, "id": "req-1"}


async def test_without_a_deadline_the_time_left_is_infinite(autojump_clock):
    app = TrioAPI()
    seen = []

    @app.get("/")
    async def endpoint(scope: RequestScope):
        seen.append((scope.remaining(), scope.deadline, scope.client_disconnected))
        scope.set_timeout(1)
        await trio.sleep(5)

    exchange = await call(app, "/")
    assert seen == [(math.inf, math.inf, False)]
    assert exchange.status == 504  # set_timeout() from the endpoint gave it a deadline


async def test_request_nursery_tasks_finish_before_the_request_ends(autojump_clock):
    app = TrioAPI()
    log = []

    async def audit(name: str) -> None:
        await trio.sleep(3)
        log.append(f"audit {name} at {trio.current_time():.0f}")

    @app.post("/orders")
    async def create(nursery: RequestNursery):
        nursery.start_soon(audit, "a")
        nursery.start_soon(audit, "b")
        log.append("endpoint returned")
        return {"ok": True}

    exchange = await call(app, "/orders", method="POST")
    assert exchange.json() == {"ok": True}
    assert sorted(log) == ["audit a at 3", "audit b at 3", "endpoint returned"]
    assert exchange.finished_at == pytest.approx(3)


@pytest.mark.parametrize("cause", ["deadline", "disconnect"])
async def test_request_nursery_tasks_are_cancelled_with_the_request(autojump_clock, cause):
    app = TrioAPI(timeout=2 if cause == "deadline" else None)
    log = []

    async def child() -> None:
        try:
            await trio.sleep(100)
        finally:
            log.append(f"child stopped at {trio.current_time():.0f}")

    @app.get("/")
    async def endpoint(nursery: RequestNursery):
        nursery.start_soon(child)
        await trio.sleep(100)

    exchange = await call(app, "/", disconnect_after=2 if cause == "disconnect" else None)
    assert log == ["child stopped at 2"]
    assert exchange.status == (504 if cause == "deadline" else None)


async def test_app_nursery_tasks_run_until_shutdown_then_are_cancelled_and_awaited(autojump_clock):
    log = []

    @asynccontextmanager
    async def lifespan(app):
        log.append("startup")
        yield
        log.append("shutdown hook")

    app = TrioAPI(lifespan=lifespan)

    async def refresher(name: str) -> None:
        try:
            while True:
                await trio.sleep(10)
                log.append(f"refreshed {name}")
        except trio.Cancelled:
            log.append(f"{name} cancelled")
            raise
        finally:
            with trio.CancelScope(shield=True):  # cleanup that awaits must shield itself
                await trio.sleep(1)
            log.append(f"{name} cleaned up")

    @app.post("/warm/{name}")
    async def warm(name: str, nursery: AppNursery):
        nursery.start_soon(refresher, name)
        return {"started": name}

    async with AsyncTestClient(app) as client:
        response = await client.post("/warm/users")
        assert response.json() == {"started": "users"}
        assert trio.current_time() == 0  # the request did not wait for the task
        await trio.sleep(25)
    assert log == [
        "startup",
        "refreshed users",
        "refreshed users",
        "users cancelled",
        "users cleaned up",
        "shutdown hook",
    ]


async def test_app_nursery_without_a_lifespan_is_a_clear_error(autojump_clock):
    app = TrioAPI()

    @app.get("/")
    async def endpoint(nursery: AppNursery):
        return {}

    with pytest.raises(RuntimeError, match="the application's lifespan is not running"):
        await call(app, "/")
