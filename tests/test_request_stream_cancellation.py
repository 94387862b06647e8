"""A loop over ``request.stream()`` cut by a deadline or a disconnect leaves nothing unclosed.

``Request.stream()`` used to be an async generator: a cancelled loop left it
suspended at a ``yield``, and when it was collected Trio warned
``ResourceWarning: Async generator 'trioapi.requests.Request.stream' was
garbage collected before it had been exhausted`` (an error under
``filterwarnings = error``). It is a plain async iterator now.
"""

from __future__ import annotations

import gc

import httpx
import pytest
import trio

from tests.serving import run_hypercorn
from trioapi import Request, TrioAPI
from trioapi.testing import AsyncTestClient


def upload_app(seen: list[bytes], timeout: float) -> TrioAPI:
    app = TrioAPI()

    @app.post("/upload", timeout=timeout)
    async def upload(request: Request):
        async for chunk in request.stream():
            seen.append(chunk)
            await trio.sleep(10)  # the deadline passes here, inside the loop
        return {"ok": True}

    @app.get("/alive")
    async def alive():
        return {"alive": True}

    return app


async def collect_garbage() -> None:
    # An unclosed async generator is finalized here, and Trio's warning
    # becomes an unraisable-exception error of this test.
    gc.collect()
    await trio.sleep(0)
    gc.collect()


async def test_a_deadline_inside_a_stream_loop_leaves_nothing_to_finalize(autojump_clock):
    seen: list[bytes] = []
    async with AsyncTestClient(upload_app(seen, timeout=1)) as client:
        response = await client.post("/upload", content=b"x" * 100)
        assert (response.status_code, response.json()) == (504, {"detail": "Gateway Timeout"})
    assert seen == [b"x" * 100]
    await collect_garbage()


async def test_the_stream_gives_the_cached_body_then_an_empty_chunk():
    seen: list[list[bytes]] = []
    app = TrioAPI()

    @app.post("/twice")
    async def twice(request: Request):
        await request.body()
        seen.append([chunk async for chunk in request.stream()])
        seen.append([chunk async for chunk in request.stream()])
        return {}

    @app.post("/consumed")
    async def consumed(request: Request):
        seen.append([chunk async for chunk in request.stream()])
        with pytest.raises(RuntimeError, match="Stream consumed"):
            await anext(aiter(request.stream()))
        return {}

    async with AsyncTestClient(app) as client:
        assert (await client.post("/twice", content=b"abc")).status_code == 200
        assert (await client.post("/consumed", content=b"abc")).status_code == 200
    assert seen == [[b"abc", b""], [b"abc", b""], [b"abc", b""]]


@pytest.mark.parametrize("http2", [False, True], ids=["http1.1", "http2"])
async def test_through_hypercorn_a_cut_stream_loop_answers_504_and_leaves_nothing(http2):
    seen: list[bytes] = []
    async with (
        run_hypercorn(upload_app(seen, timeout=0.2)) as url,
        httpx.AsyncClient(base_url=url, http1=not http2, http2=http2, timeout=5) as client,
    ):
        response = await client.post("/upload", content=b"y" * 1000)
        assert response.status_code == 504
        assert (await client.get("/alive")).json() == {"alive": True}
    assert b"".join(seen) == b"y" * 1000
    await collect_garbage()
