"""Streaming responses: back-pressure, and a client that leaves closes the iterator.

For async and sync iterators alike: the iterator is not run ahead of what the
client has taken, and when the client goes away it is closed at once, so its
``finally`` runs (in the app and through a real hypercorn server).
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from itertools import count
from typing import Any

import httpx
import pytest
import trio

from tests.serving import run_hypercorn
from trioapi import TrioAPI
from trioapi.responses import StreamingResponse
from trioapi.testing import AsyncTestClient
from trioapi.types import Message


async def receive_nothing() -> Message:
    await trio.sleep_forever()
    raise AssertionError("unreachable")


def made_after(log: list[str], later: str, earlier: str) -> bool:
    return log.index(later) > log.index(earlier)


@pytest.mark.parametrize("kind", ["async", "sync"])
async def test_iterator_is_not_run_ahead_of_a_slow_client(kind: str) -> None:
    log: list[str] = []

    async def async_chunks() -> AsyncIterator[bytes]:
        for i in range(6):
            log.append(f"made {i}")
            yield str(i).encode()

    def sync_chunks() -> Iterator[bytes]:
        for i in range(6):
            log.append(f"made {i}")
            yield str(i).encode()

    content = async_chunks() if kind == "async" else sync_chunks()
    # A zero-capacity channel: every send waits until the "client" takes it.
    to_client, from_app = trio.open_memory_channel[Message](0)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(
            StreamingResponse(content), {"type": "http"}, receive_nothing, to_client.send
        )
        async for message in from_app:
            if message.get("body"):
                log.append(f"got {message['body'].decode()}")
            if not message.get("more_body", message["type"] == "http.response.start"):
                break
    assert [entry for entry in log if entry.startswith("got")] == [f"got {i}" for i in range(6)]
    # Chunk i+2 is only made once chunk i+1 was taken, which is after chunk i was.
    assert all(made_after(log, f"made {i + 2}", f"got {i}") for i in range(4))


def make_app(log: list[str], gate: threading.Event) -> TrioAPI:
    app = TrioAPI()

    async def endless_async() -> AsyncIterator[str]:
        try:
            for i in count():
                yield f"{i}\n"
                await trio.sleep(1)
        finally:
            log.append("async finally")

    def endless_sync() -> Iterator[str]:
        try:
            for i in count():
                if i == 2:
                    gate.wait(5)  # hold the stream open until the client has left
                yield f"{i}\n"
        finally:
            log.append("sync finally")

    @app.get("/response/async")
    async def response_async():
        return StreamingResponse(endless_async(), media_type="text/plain")

    @app.get("/response/sync")
    async def response_sync():
        return StreamingResponse(endless_sync(), media_type="text/plain")

    # Generator endpoints: the endpoint's own generator must be closed.
    @app.get("/generator/async")
    async def generator_async() -> AsyncIterable[int]:
        try:
            for i in count():
                yield i
                await trio.sleep(1)
        finally:
            log.append("async finally")

    @app.get("/generator/sync")
    def generator_sync() -> Iterable[int]:
        try:
            for i in count():
                if i == 2:
                    gate.wait(5)
                yield i
        finally:
            log.append("sync finally")

    return app


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/response/async", "async finally"),
        ("/response/sync", "sync finally"),
        ("/generator/async", "async finally"),
        ("/generator/sync", "sync finally"),
    ],
)
async def test_client_leaving_mid_stream_runs_the_iterator_finally(
    path: str, expected: str, autojump_clock: Any
) -> None:
    log: list[str] = []
    gate = threading.Event()
    async with AsyncTestClient(make_app(log, gate)) as client:
        async with client.stream("GET", path) as response:
            lines = response.aiter_lines()
            first_two = [await anext(lines), await anext(lines)]
        gate.set()
    # The client waits for the app: by now the stream has been torn down.
    assert first_two == ["0", "1"]
    assert log == [expected]


@pytest.mark.parametrize("kind", ["async", "sync"])
async def test_stream_cut_by_an_httpx_client_runs_its_cleanup_through_hypercorn(
    kind: str,
) -> None:
    app = TrioAPI()
    closed = trio.Event()

    async def async_lines() -> AsyncIterator[str]:
        try:
            for i in count():
                yield f"{i}\n"
                await trio.sleep(0.01)
        finally:
            closed.set()

    def sync_lines() -> Iterator[str]:
        try:
            for i in count():
                yield f"{i}\n"
        finally:
            # The generator is closed in a worker thread: signal back to Trio.
            trio.from_thread.run_sync(closed.set)

    @app.get("/numbers")
    async def numbers():
        content = async_lines() if kind == "async" else sync_lines()
        return StreamingResponse(content, media_type="text/plain")

    async with run_hypercorn(app) as url:
        async with httpx.AsyncClient(base_url=url) as client:
            async with client.stream("GET", "/numbers") as response:
                lines = response.aiter_lines()
                first = await anext(lines)
        with trio.fail_after(5):
            await closed.wait()
    assert first == "0"
    assert response.headers["transfer-encoding"] == "chunked"
