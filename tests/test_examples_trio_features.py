"""Each example in examples/trio_features/ runs, and does what its docstring says."""

import logging

import pytest
import trio

from examples.trio_features import concurrent_dependencies, deadlines, disconnect, errors, nurseries
from tests.trio_support import call
from trioapi.testing import AsyncTestClient


async def test_deadlines_example(autojump_clock):
    app = deadlines.app
    fast = await call(app, "/search?q=a")  # 1 s of backend time fits in 2 s
    assert fast.json() == {"results": ["result for a"], "budget": 1.5}
    slow = await call(app, "/search?q=abcdef")  # the backend is cut off at the budget
    assert slow.json() == {"results": [], "budget": 1.5}
    start = trio.current_time()
    report = await call(app, "/reports/daily?hours=20")
    assert (report.status, report.json()) == (
        504,
        {"detail": "The server took too long", "path": "/reports/daily"},
    )
    assert report.finished_at - start == pytest.approx(10)
    assert (await call(app, "/health")).json() == {"ok": True}


async def test_disconnect_example(autojump_clock):
    disconnect.journal.clear()
    await call(disconnect.app, "/report", disconnect_after=1)
    assert disconnect.journal == ["begin", "rollback: the client went away"]
    disconnect.journal.clear()
    await call(disconnect.app, "/payments", method="POST", disconnect_after=1)
    assert disconnect.journal == ["begin", "commit"]


async def test_nurseries_example(autojump_clock):
    nurseries.audit_log.clear()
    async with AsyncTestClient(nurseries.app) as client:
        start = trio.current_time()
        dashboard = await client.get("/dashboard")
        assert trio.current_time() - start == pytest.approx(1)
        assert sorted(dashboard.json()["results"]) == ["orders", "stock", "users"]
        assert dashboard.json()["price"] == 1
        order = await client.post("/orders", params={"item": "widget"})
        assert order.json() == {"ordered": "widget"}
        assert nurseries.audit_log == ["order widget"]  # the request ended after it
    # The lifespan ended: the refresher was cancelled, so the client could close.


async def test_concurrent_dependencies_example(autojump_clock):
    home = await call(concurrent_dependencies.app, "/home")
    assert home.json() == {"user": "ann", "flags": {"new_home": True}}
    assert home.finished_at == pytest.approx(0.1)


async def test_errors_example(caplog):
    with caplog.at_level(logging.ERROR, logger="trioapi"), pytest.raises(ConnectionError):
        await call(errors.app, "/signup?email=ann@example.com", method="POST",
                   headers=[(b"x-request-id", b"42")])  # fmt: skip
    [record] = caplog.records
    assert record.getMessage() == "Unhandled error in POST /signup (request id 42)"
