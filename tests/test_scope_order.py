"""The request's scopes in order, pinned by one event log.

A request-scoped yield dependency A and a function-scoped one B (which
needs A) around an endpoint that adds a background task. The order is
DESIGN §3's: setup A, setup B, endpoint, teardown of B (function scope),
response sent (recorded by a wrapping ASGI ``send``), background task,
teardown of A (request scope). Also: the endpoint's exception delivered at
each ``yield``, cleanup after the client goes away, and a nursery handed to
the endpoint by a dependency. Over the TestClient, on the mock clock through
the ASGI callable, and through a real hypercorn.
"""

from typing import Annotated

import httpx
import pytest
import trio

from tests.serving import run_hypercorn
from tests.trio_support import call
from trioapi import BackgroundTasks, Depends, HTTPException, TrioAPI
from trioapi.testclient import TestClient

ORDER = [
    "setup A",
    "setup B",
    "endpoint",
    "teardown B (function)",
    "response sent",
    "background task",
    "teardown A (request)",
]


class Probe:
    """The event log, and an event set when the request scope has closed."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.closed = trio.Event()

    def wrap(self, app: TrioAPI):
        """Wrap ``app`` so the log records when the response has been completely sent."""

        async def logging_app(scope, receive, send):
            async def logging_send(message):
                await send(message)
                if message["type"] == "http.response.body" and not message.get("more_body"):
                    self.log.append("response sent")

            await app(scope, receive, logging_send)

        return logging_app

    async def wait_closed(self) -> None:
        with trio.fail_after(5):
            await self.closed.wait()


def build_app(probe: Probe) -> TrioAPI:
    log = probe.log
    app = TrioAPI()

    async def resource_a():
        log.append("setup A")
        try:
            yield "A"
        except BaseException as exc:
            log.append(f"A saw {type(exc).__name__}")
            raise
        finally:
            await trio.sleep(0)  # teardown may await: it runs shielded
            log.append("teardown A (request)")
            probe.closed.set()

    async def resource_b(a: Annotated[str, Depends(resource_a)]):
        log.append("setup B")
        try:
            yield a + "B"
        except BaseException as exc:
            log.append(f"B saw {type(exc).__name__}")
            raise
        finally:
            log.append("teardown B (function)")

    Both = Annotated[str, Depends(resource_b, scope="function")]

    @app.get("/ok")
    async def ok(value: Both, tasks: BackgroundTasks):
        log.append("endpoint")
        tasks.add_task(log.append, "background task")
        return {"value": value}

    @app.get("/missing")
    async def missing(value: Both):
        log.append("endpoint")
        raise HTTPException(404, "Item not found")

    @app.get("/slow")
    async def slow(value: Both):
        log.append("endpoint")
        await trio.sleep_forever()

    return app


def test_scopes_open_and_close_in_order_over_the_test_client():
    probe = Probe()
    response = TestClient(probe.wrap(build_app(probe))).get("/ok")
    assert response.status_code == 200
    assert response.json() == {"value": "AB"}
    assert probe.log == ORDER


def test_the_endpoints_exception_is_delivered_at_each_yield_innermost_first():
    probe = Probe()
    response = TestClient(probe.wrap(build_app(probe))).get("/missing")
    assert response.status_code == 404
    assert response.json() == {"detail": "Item not found"}
    # The error unwinds B, then A; only then is the error response sent.
    assert probe.log == [
        "setup A",
        "setup B",
        "endpoint",
        "B saw HTTPException",
        "teardown B (function)",
        "A saw HTTPException",
        "teardown A (request)",
        "response sent",
    ]


async def test_a_client_that_goes_away_cancels_the_endpoint_and_both_scopes_clean_up(
    autojump_clock,
):
    probe = Probe()
    exchange = await call(probe.wrap(build_app(probe)), "/slow", disconnect_after=1)
    assert exchange.sent == []
    assert exchange.finished_at == pytest.approx(1)
    assert probe.log == [
        "setup A",
        "setup B",
        "endpoint",
        "B saw Cancelled",
        "teardown B (function)",
        "A saw Cancelled",
        "teardown A (request)",
    ]


def test_a_nursery_from_a_dependency_outlives_the_endpoint_and_closes_before_teardown():
    app = TrioAPI()
    log: list[str] = []

    async def worker_nursery():
        log.append("nursery opened")
        async with trio.open_nursery() as nursery:
            yield nursery
            log.append("waiting for tasks")
        log.append("nursery closed")

    async def job(name: str) -> None:
        await trio.sleep(0)
        log.append(f"{name} done")

    @app.get("/")
    async def endpoint(nursery: Annotated[trio.Nursery, Depends(worker_nursery)]):
        nursery.start_soon(job, "job 1")
        nursery.start_soon(job, "job 2")
        log.append("endpoint returned")
        return "started"

    probe = Probe()
    probe.log = log
    assert TestClient(probe.wrap(app)).get("/").json() == "started"
    assert log[:2] == ["nursery opened", "endpoint returned"]
    # Trio randomizes the order of ready tasks: the jobs may finish before or
    # after the response goes out and the teardown begins, but never after
    # the nursery has closed.
    assert sorted(log[2:-1]) == [
        "job 1 done",
        "job 2 done",
        "response sent",
        "waiting for tasks",
    ]
    assert log.index("response sent") < log.index("waiting for tasks")
    assert log[-1] == "nursery closed"


async def test_the_nursery_from_a_dependency_is_cancelled_with_the_request(autojump_clock):
    app = TrioAPI()
    log: list[str] = []

    async def worker_nursery():
        async with trio.open_nursery() as nursery:
            yield nursery
        log.append("nursery closed")

    async def forever() -> None:
        try:
            await trio.sleep_forever()
        finally:
            log.append("task cancelled")

    @app.get("/")
    async def endpoint(nursery: Annotated[trio.Nursery, Depends(worker_nursery)]):
        nursery.start_soon(forever)
        await trio.sleep_forever()

    exchange = await call(app, "/", disconnect_after=2)
    assert exchange.sent == []
    assert exchange.finished_at == pytest.approx(2)
    assert log == ["task cancelled", "nursery closed"]


# --- the same through a real hypercorn --------------------------------------------


async def test_scopes_open_and_close_in_order_through_hypercorn():
    probe = Probe()
    async with run_hypercorn(probe.wrap(build_app(probe))) as url:
        async with httpx.AsyncClient(base_url=url) as client:
            response = await client.get("/ok")
        await probe.wait_closed()  # the client may see the response before the teardown
    assert response.status_code == 200
    assert response.json() == {"value": "AB"}
    assert probe.log == ORDER


async def test_a_client_that_hangs_up_through_hypercorn_cancels_and_cleans_up_once():
    probe = Probe()
    async with run_hypercorn(probe.wrap(build_app(probe))) as url:
        host, port = url.removeprefix("http://").split(":")
        stream = await trio.open_tcp_stream(host, int(port))
        await stream.send_all(b"GET /slow HTTP/1.1\r\nHost: test\r\n\r\n")
        with trio.fail_after(5):
            while "endpoint" not in probe.log:
                await trio.sleep(0.01)
        await stream.aclose()
        await probe.wait_closed()
    assert probe.log == [
        "setup A",
        "setup B",
        "endpoint",
        "B saw Cancelled",
        "teardown B (function)",
        "A saw Cancelled",
        "teardown A (request)",
    ]
