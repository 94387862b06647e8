"""Prometheus metrics: requests by route template, latency, in flight, and Trio's cancellations."""

from __future__ import annotations

import subprocess
import sys

import httpx
import trio
from prometheus_client.parser import text_string_to_metric_families

from tests.serving import run_hypercorn
from trioapi import APIRouter, BackgroundTasks, TrioAPI
from trioapi.metrics import PrometheusMetrics, instrument
from trioapi.testclient import TestClient


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, by name and sorted labels."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return found


ENTERED: list[str] = []  # /hang appends on entry: the tests wait for the server, not a clock


def build_app() -> tuple[TrioAPI, PrometheusMetrics]:
    app = TrioAPI()
    router = APIRouter(prefix="/users")

    @router.get("/{user_id}")
    async def read_user(user_id: int, tasks: BackgroundTasks):
        tasks.add_task(trio.sleep, 0)
        return {"id": user_id}

    app.include_router(router)

    @app.get("/hang")
    async def hang():
        ENTERED.append("hang")
        await trio.sleep_forever()

    @app.get("/late", timeout=0.05)
    async def late():
        await trio.sleep_forever()

    @app.get("/fail")
    async def fail():
        raise ValueError("counted as a 500")

    return app, instrument(app)


def test_requests_are_counted_by_route_template_method_and_status():
    app, _ = build_app()
    client = TestClient(app, raise_server_exceptions=False)
    for user_id in (1, 2, 3):
        client.get(f"/users/{user_id}")
    client.get("/no/such/path")
    client.get("/fail")
    scrape = client.get("/metrics")
    found = samples(scrape.text)

    assert scrape.headers["content-type"].startswith("text/plain; version=")
    route = ("route", "/users/{user_id}")
    assert found["trioapi_requests_total", (("method", "GET"), route, ("status", "200"))] == 3
    assert (
        found[
            "trioapi_requests_total",
            (("method", "GET"), ("route", "<unmatched>"), ("status", "404")),
        ]
        == 1
    )
    assert (
        found["trioapi_requests_total", (("method", "GET"), ("route", "/fail"), ("status", "500"))]
        == 1
    )
    assert found["trioapi_request_duration_seconds_count", (("method", "GET"), route)] == 3
    assert found["trioapi_after_response_seconds_count", (route,)] == 3
    assert found["trioapi_requests_in_flight", ()] == 1  # the scrape itself
    assert found["trioapi_thread_limiter_total", ()] == 40
    assert found["trioapi_thread_limiter_waiting", ()] == 0
    assert "/metrics" not in client.get("/openapi.json").text


async def hang_until_closed(base: str) -> None:
    async with httpx.AsyncClient(base_url=base) as client:
        try:
            await client.get("/hang")
        except httpx.TransportError:  # the server closes the connection as it stops
            pass


async def wait_for_entries(count: int) -> None:
    with trio.fail_after(10):
        while len(ENTERED) < count:
            await trio.sleep(0.01)


async def test_cancellations_by_disconnect_deadline_and_shutdown_through_hypercorn():
    app, metrics = build_app()
    ENTERED.clear()
    async with trio.open_nursery() as nursery:
        async with run_hypercorn(app, graceful_timeout=0.2) as base:
            async with httpx.AsyncClient(base_url=base) as client:
                late = await client.get("/late")
                # The client gives up once the handler runs; the server cancels it.
                async with trio.open_nursery() as giving_up:
                    giving_up.start_soon(client.get, "/hang")
                    await wait_for_entries(1)
                    giving_up.cancel_scope.cancel()
                with trio.fail_after(10):
                    while "disconnect" not in (await client.get("/metrics")).text:
                        await trio.sleep(0.05)
            # Still hanging when the server stops: hypercorn's cancel at graceful_timeout.
            nursery.start_soon(hang_until_closed, base)
            await wait_for_entries(2)
    found = samples(metrics.render().decode())

    assert late.status_code == 504
    cancelled = "trioapi_requests_cancelled_total"
    assert found[cancelled, (("reason", "deadline"), ("route", "/late"))] == 1
    assert found[cancelled, (("reason", "disconnect"), ("route", "/hang"))] == 1
    assert found[cancelled, (("reason", "shutdown"), ("route", "/hang"))] == 1
    assert (
        found["trioapi_requests_total", (("method", "GET"), ("route", "/late"), ("status", "504"))]
        == 1
    )


WITHOUT_PROMETHEUS = """
import sys
sys.modules["prometheus_client"] = None
try:
    import trioapi.metrics
except ImportError as exc:
    print(exc)
"""


def test_without_prometheus_client_the_import_says_how_to_install_it():
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_PROMETHEUS],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.stdout.strip() == (
        "trioapi.metrics needs prometheus-client, which is not installed. "
        "Install it with: pip install 'trioapi[metrics]' (or pip install prometheus-client)."
    )
