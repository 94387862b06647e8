"""Streams cancelled by a deadline, a disconnect, shutdown or the caller: closed once, no hang.

Each stream kind (a returned ``StreamingResponse`` or ``EventSourceResponse``,
a generator endpoint sent raw, as JSON Lines or as server-sent events), with
sync and async generators, cancelled while the generator waits (inside it)
and while the response sends (a generator that never awaits).
"""

from collections.abc import AsyncIterable

import pytest
import trio

from tests.trio_support import http_scope
from trioapi import TrioAPI
from trioapi.responses import StreamingResponse


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
