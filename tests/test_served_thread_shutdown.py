"""A request waiting on a worker thread at the server's hard cancel is answered 503, through hypercorn.

Hypercorn cancels the requests still in flight ``graceful_timeout`` seconds
after its shutdown trigger. A task waiting on a worker thread cannot be
cancelled, so without an answer on its behalf its client would wait for the
thread, and the worker could not stop before it. The app answers 503 just
after the hard cancel (``TrioAPI.shutdown_trigger(..., graceful_timeout=)``,
passed by the server layer's fix ``shutdown-trigger`` and by
tests/serving.py), drops the thread's result, and tears the request's yield
dependencies down once, after the thread has returned. Over HTTP/2 no answer
can go out then (hypercorn's send task is gone): the stream is reset
(fix ``h2-stream-cancel``), as async work is cut.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import trio

from tests.serving import needs_fix, run_hypercorn
from trioapi import Depends, TrioAPI

GRACEFUL_TIMEOUT = 0.3
THREAD_BOUND = 10.0  # no thread waits longer than this for its release


def build_app(release: threading.Event, events: list[str]) -> TrioAPI:
    app = TrioAPI()

    def resource() -> Iterator[str]:
        events.append("opened")
        try:
            yield "resource"
        finally:
            events.append("closed")

    @app.get("/thread")
    async def in_a_thread(value: str = Depends(resource)) -> dict[str, str]:
        await trio.to_thread.run_sync(release.wait, THREAD_BOUND)
        events.append("thread returned")
        return {"late": value}

    @app.get("/sync")
    def sync_endpoint(value: str = Depends(resource)) -> dict[str, str]:
        release.wait(THREAD_BOUND)
        events.append("thread returned")
        return {"late": value}

    return app


@needs_fix("shutdown-trigger")
@pytest.mark.parametrize("path", ["/thread", "/sync"])
async def test_a_request_on_a_thread_at_the_hard_cancel_is_answered_503_then_torn_down_once(path):
    release = threading.Event()
    events: list[str] = []
    stop = trio.Event()
    answers: list[httpx.Response] = []
    started = time.monotonic()
    try:
        with trio.fail_after(THREAD_BOUND):
            async with run_hypercorn(
                build_app(release, events), stop=stop, graceful_timeout=GRACEFUL_TIMEOUT
            ) as url:
                async with httpx.AsyncClient(base_url=url, timeout=THREAD_BOUND) as client:

                    async def fetch() -> None:
                        answers.append(await client.get(path))
                        release.set()  # the thread goes on only once the client has its answer

                    async with trio.open_nursery() as nursery:
                        nursery.start_soon(fetch)
                        while "opened" not in events:
                            await trio.sleep(0.01)
                        stop.set()
    finally:
        release.set()
    answer = answers[0]
    assert (answer.status_code, answer.json()) == (503, {"detail": "Service Unavailable"})
    assert answer.headers.get("connection") == "close"
    assert events == ["opened", "thread returned", "closed"]
    assert time.monotonic() - started < THREAD_BOUND


@needs_fix("h2-stream-cancel")
@pytest.mark.parametrize("path", ["/thread", "/sync"])
async def test_over_http2_such_a_request_is_reset_at_the_hard_cancel_then_torn_down_once(path):
    # Hypercorn's HTTP/2 sends body frames from a task its hard cancel ends:
    # no answer can go out, so the stream is reset (CANCEL), as async work is cut.
    release = threading.Event()
    events: list[str] = []
    stop = trio.Event()
    errors: list[str] = []
    try:
        with trio.fail_after(THREAD_BOUND):
            async with run_hypercorn(
                build_app(release, events), stop=stop, graceful_timeout=GRACEFUL_TIMEOUT
            ) as url:
                async with httpx.AsyncClient(
                    base_url=url, http1=False, http2=True, timeout=THREAD_BOUND
                ) as client:

                    async def fetch() -> None:
                        with pytest.raises(httpx.RemoteProtocolError) as reset:
                            await client.get(path)
                        errors.append(str(reset.value))
                        release.set()  # the thread goes on only once the client saw the end

                    async with trio.open_nursery() as nursery:
                        nursery.start_soon(fetch)
                        while "opened" not in events:
                            await trio.sleep(0.01)
                        stop.set()
    finally:
        release.set()
    # httpx reports the RST_STREAM it got: error code 8 is CANCEL.
    assert errors == ["<StreamReset stream_id:1, error_code:8, remote_reset:True>"]
    assert events == ["opened", "thread returned", "closed"]
