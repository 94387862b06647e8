"""Server-sent event streams end when the server begins a graceful shutdown, as streaming responses do."""

from __future__ import annotations

from collections.abc import AsyncIterable
from typing import Any

import pytest
import trio

from tests.trio_support import http_scope
from trioapi import TrioAPI
from trioapi.sse import PING_INTERVAL, EventSourceResponse
from trioapi.testing import AsyncTestClient


def build_app(log: list[str]) -> TrioAPI:
    app = TrioAPI()

    @app.get("/typed", response_class=EventSourceResponse)
    async def typed() -> AsyncIterable[int]:
        try:
            yield 1
            await trio.sleep_forever()
            yield 2
        finally:
            log.append("source closed")

    @app.get("/raw")
    async def raw() -> EventSourceResponse:
        async def events():
            try:
                yield "data: 1\n\n"
                await trio.sleep_forever()
            finally:
                log.append("source closed")

        return EventSourceResponse(events())

    return app


async def stream_until_shutdown(
    app: TrioAPI, path: str, *, shutdown_first: bool = False
) -> list[dict[str, Any]]:
    """GET ``path`` from a client that never leaves; shutdown begins 1 s after the first event."""
    sent: list[dict[str, Any]] = []
    stop = trio.Event()
    first_event = trio.Event()
    requests = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> dict[str, Any]:
        if requests:
            return requests.pop(0)
        await trio.sleep_forever()
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message.get("body"):
            first_event.set()

    async def begin_shutdown() -> None:
        if not shutdown_first:
            await first_event.wait()
            await trio.sleep(1)
        stop.set()

    # Long enough for several pings, had the stream not ended at shutdown.
    with trio.fail_after(PING_INTERVAL * 4):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(app.shutdown_trigger(stop.wait))
            if shutdown_first:
                await begin_shutdown()
                await trio.testing.wait_all_tasks_blocked()
            else:
                nursery.start_soon(begin_shutdown)
            await app(http_scope(path), receive, send)
    return sent


def bodies(sent: list[dict[str, Any]]) -> list[tuple[bytes, bool]]:
    return [
        (message.get("body", b""), message.get("more_body", False))
        for message in sent
        if message["type"] == "http.response.body"
    ]


@pytest.mark.parametrize("path", ["/typed", "/raw"])
async def test_an_event_stream_ends_when_shutdown_begins(autojump_clock, path):
    log: list[str] = []
    started_at = trio.current_time()
    sent = await stream_until_shutdown(build_app(log), path)
    assert sent[0]["status"] == 200
    # The event, then the end of the body: no ping (15 s idle) was ever due.
    assert bodies(sent) == [(b"data: 1\n\n", True), (b"", False)]
    assert log == ["source closed"]
    assert trio.current_time() - started_at == pytest.approx(1)


async def test_an_event_stream_started_after_shutdown_began_ends_at_once(autojump_clock):
    log: list[str] = []
    sent = await stream_until_shutdown(build_app(log), "/raw", shutdown_first=True)
    assert sent[0]["status"] == 200
    assert bodies(sent) == [(b"", False)]
    # The event source was never started, so it has no finally to run yet.
    assert log == []


async def test_a_stream_served_while_the_lifespan_runs_ends_when_shutdown_begins(autojump_clock):
    # Served with the lifespan's watchdog (the path every served request takes):
    # the request context carries the app's shutdown to the stream.
    log: list[str] = []
    app = build_app(log)
    stop = trio.Event()

    async def begin_shutdown() -> None:
        await trio.sleep(1)
        stop.set()

    with trio.fail_after(PING_INTERVAL * 4):
        async with AsyncTestClient(app) as client, trio.open_nursery() as nursery:
            nursery.start_soon(app.shutdown_trigger(stop.wait))
            nursery.start_soon(begin_shutdown)
            response = await client.get("/raw")
    assert response.status_code == 200
    assert response.text == "data: 1\n\n"
    assert log == ["source closed"]
