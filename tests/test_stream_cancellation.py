"""Streams cancelled by a deadline, a disconnect, shutdown or the caller: closed once, no hang.

Each stream kind (a returned ``StreamingResponse`` or ``EventSourceResponse``,
a generator endpoint sent raw, as JSON Lines or as server-sent events), with
sync and async generators, cancelled while the generator waits (inside it)
and while the response sends (a generator that never awaits).
"""

from collections.abc import AsyncIterable, Iterable
from contextlib import aclosing

import pytest
import trio

from tests.trio_support import call, http_scope
from trioapi import TrioAPI
from trioapi.responses import StreamingResponse
from trioapi.sse import EventSourceResponse, ServerSentEvent


def endless_app() -> TrioAPI:
    app = TrioAPI()

    @app.get("/raw", response_class=StreamingResponse)
    async def raw() -> AsyncIterable[str]:
        i = 0
        while True:  # never awaits: only the response's sends are checkpoints
            yield f"item {i}\n"
            i += 1

    @app.get("/jsonl")
    async def jsonl() -> AsyncIterable[int]:
        i = 0
        while True:
            yield i
            i += 1

    return app


@pytest.mark.parametrize("path", ["/raw", "/jsonl"])
async def test_a_generator_that_never_awaits_can_be_cancelled_from_outside(path):
    # The server's send need not be a checkpoint either (FastAPI's
    # test_stream_cancellation): the stream must still reach one per chunk.
    # The real clock: the mock one would never move, nothing ever waits.
    async def receive() -> dict:
        await trio.sleep_forever()
        raise AssertionError("unreachable")

    async def send(message: dict) -> None:
        pass

    with trio.move_on_after(0.3) as outside:
        await endless_app()(http_scope(path), receive, send)
    # Reached at all: the stream did not hang. (How many chunks went depends
    # on the machine's speed.)
    assert outside.cancelled_caught


def stream_kinds_app(log: list[str]) -> TrioAPI:
    """Every stream kind, async (waits between items) and sync (never waits), timeout=1."""
    app = TrioAPI()

    async def waiting():
        try:
            for i in range(10**6):
                yield {"n": i}
                await trio.sleep(0.3)  # cancelled in here: from inside the generator
        finally:
            log.append("closed")

    def endless():
        try:
            for i in range(10**9):
                yield {"n": i}  # cancelled around the response's sends
        finally:
            log.append("closed")

    @app.get("/returned-async", timeout=1)
    async def returned_async():
        async def text():
            async with aclosing(waiting()) as items:
                async for item in items:
                    yield f"{item}\n"

        return StreamingResponse(text(), media_type="text/plain")

    @app.get("/returned-sync", timeout=1)
    async def returned_sync():
        return StreamingResponse((f"{item}\n" for item in endless()), media_type="text/plain")

    @app.get("/returned-sse", timeout=1)
    async def returned_sse():
        async def events():
            async with aclosing(waiting()) as items:
                async for item in items:
                    yield ServerSentEvent(data=item)

        return EventSourceResponse(events())

    @app.get("/jsonl-async", timeout=1)
    async def jsonl_async() -> AsyncIterable[dict]:
        try:
            for i in range(10**6):
                yield {"n": i}
                await trio.sleep(0.3)
        finally:
            log.append("closed")

    @app.get("/jsonl-sync", timeout=1)
    def jsonl_sync() -> Iterable[dict]:
        try:
            for i in range(10**9):
                yield {"n": i}
        finally:
            log.append("closed")

    @app.get("/sse-async", timeout=1, response_class=EventSourceResponse)
    async def sse_async() -> AsyncIterable[dict]:
        try:
            for i in range(10**6):
                yield {"n": i}
                await trio.sleep(0.3)
        finally:
            log.append("closed")

    @app.get("/sse-sync", timeout=1, response_class=EventSourceResponse)
    def sse_sync() -> Iterable[dict]:
        try:
            for i in range(10**9):
                yield {"n": i}
        finally:
            log.append("closed")

    @app.get("/raw-async", timeout=1, response_class=StreamingResponse)
    async def raw_async() -> AsyncIterable[str]:
        try:
            for i in range(10**6):
                yield f"{i}\n"
                await trio.sleep(0.3)
        finally:
            log.append("closed")

    return app


ASYNC_PATHS = ["/returned-async", "/returned-sse", "/jsonl-async", "/sse-async", "/raw-async"]
SYNC_PATHS = ["/returned-sync", "/jsonl-sync", "/sse-sync"]


async def cancel_a_stream(app: TrioAPI, path: str, cancelled_by: str, after: float) -> None:
    with trio.fail_after(30):  # a hang is a failure
        if cancelled_by == "outside":
            with trio.move_on_after(after):
                await call(app, path)
        else:
            exchange = await call(
                app, path, disconnect_after=after if cancelled_by == "disconnect" else None
            )
            assert exchange.status == 200
            # A cut stream: the body never ended properly.
            assert exchange.answered_at is None


@pytest.mark.parametrize("path", ASYNC_PATHS)
@pytest.mark.parametrize("cancelled_by", ["deadline", "disconnect", "outside"])
async def test_a_cancelled_async_stream_closes_its_generator_once(
    autojump_clock, path, cancelled_by
):
    log: list[str] = []
    await cancel_a_stream(stream_kinds_app(log), path, cancelled_by, after=0.5)
    assert log == ["closed"]


@pytest.mark.parametrize("path", SYNC_PATHS)
@pytest.mark.parametrize("cancelled_by", ["deadline", "disconnect", "outside"])
async def test_a_cancelled_sync_stream_closes_its_generator_once(path, cancelled_by):
    # The real clock: on the mock one, virtual time races ahead (through the
    # deadlines and graces) while each item's worker thread runs.
    log: list[str] = []
    await cancel_a_stream(stream_kinds_app(log), path, cancelled_by, after=0.2)
    assert log == ["closed"]
