"""docs/guides/threads.md."""

import pytest
import trio

from docs_src.guides import threads
from trioapi.concurrency import thread_limiter
from trioapi.testclient import TestClient
from trioapi.testing import AsyncTestClient


@pytest.fixture(autouse=True)
def restore_thread_limit():
    yield
    thread_limiter().total_tokens = 40  # the process-wide default, for the tests after


def test_the_lifespan_sets_the_process_wide_thread_limit():
    with TestClient(threads.app):
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
