"""docs/guides/threads.md."""

import pytest
import trio

from docs_src.guides import scopes, threads
from tests.trio_support import call
from trioapi.concurrency import set_thread_limit, thread_limiter
from trioapi.testclient import TestClient
from trioapi.testing import AsyncTestClient


@pytest.fixture(autouse=True)
def restore_thread_limit():
    yield
    set_thread_limit(40)  # the default, for the loops of the tests after


async def test_the_lifespan_sets_the_thread_limit():
    async with AsyncTestClient(threads.app):
        assert thread_limiter().total_tokens == 20


def test_sync_endpoints_and_dependencies_run_in_worker_threads():
    client = TestClient(threads.app)
    assert client.get("/greeting").json() == {"greeting": "hello"}
    digest = client.post("/checksum", params={"data": "abc"}).json()["sha256"]
    assert len(digest) == 64
    assert client.get("/reports/daily").json()["report"].startswith("daily at ")


async def test_the_report_limiter_lets_two_run_at_once():
    seen: list[int] = []
    original = threads.build_report

    def counting_report(name: str) -> str:
        seen.append(threads.report_slots.borrowed_tokens)
        return original(name)

    threads.build_report = counting_report
    try:
        async with AsyncTestClient(threads.app) as client, trio.open_nursery() as nursery:
            for name in "abcde":
                nursery.start_soon(client.get, f"/reports/{name}")
    finally:
        threads.build_report = original
    assert len(seen) == 5
    assert max(seen) <= 2


async def test_a_route_that_must_finish_is_not_cancelled_by_a_disconnect(autojump_clock):
    scopes.payments.clear()
    await call(scopes.app, "/payments?amount=5", method="POST", disconnect_after=0.5)
    assert scopes.payments == [5]  # the client left at 0.5 s; the payment still completed


async def test_a_dependency_reads_the_time_left(autojump_clock):
    async with AsyncTestClient(scopes.app) as client:
        response = await client.get("/budget")
    assert response.json() == {"backend_budget": pytest.approx(1.5)}  # 2 s route deadline


async def test_a_task_in_the_request_nursery_ends_before_the_request(autojump_clock):
    scopes.audit_log.clear()
    async with AsyncTestClient(scopes.app) as client:
        response = await client.post("/orders", params={"item": "widget"})
        assert response.json() == {"ordered": "widget"}
        assert scopes.audit_log == ["order widget"]
