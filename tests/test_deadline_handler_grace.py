"""The app's handler for a passed deadline answers it, within a grace; then a bare 504 goes.

A sync handler (for ``RequestTimeout``, status 504 or ``HTTPException``)
runs in a worker thread, which Trio cannot interrupt. It gets
``DEADLINE_HANDLER_GRACE`` seconds to start its response; nothing pre-empts
it before that. Past the grace the client gets a bare 504 at once, and what
the handler sends when its thread returns is dropped. (Before: the answer was
bounded by a cancel scope that could not interrupt the thread, so a handler
past it left the request with no answer at all.)

The mock clock here is moved by hand: on the autojump clock, virtual time
races past any grace while a thread runs.
"""

from __future__ import annotations

import threading

import httpx
import pytest
import trio
import trio.testing

from tests.serving import run_hypercorn
from tests.trio_support import Exchange, call
from trioapi import Request, TrioAPI
from trioapi._response_tracker import DEADLINE_HANDLER_GRACE
from trioapi.exceptions import HTTPException, RequestTimeout
from trioapi.responses import PlainTextResponse
from trioapi.testing import AsyncTestClient

BARE_504 = b'{"detail":"Gateway Timeout"}'


class Handler:
    """A sync handler that holds its worker thread until released."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self, request: Request, exc: HTTPException) -> PlainTextResponse:
        self.entered.set()
        self.release.wait(10)
        return PlainTextResponse(f"handled {exc.status_code}", status_code=504)


def deadline_app(
    handler: Handler, key: object, *, sync_endpoint: threading.Event | None = None
) -> TrioAPI:
    app = TrioAPI()
    app.add_exception_handler(key, handler)  # type: ignore[arg-type]

    if sync_endpoint is not None:
        endpoint_release = sync_endpoint

        @app.get("/slow", timeout=2)
        def slow_in_a_thread():
            endpoint_release.wait(10)  # past the deadline, once the test moves the clock
            return {"late": True}

    else:

        @app.get("/slow", timeout=2)
        async def slow():
            await trio.sleep(10)

    return app


async def in_thread(event: threading.Event) -> None:
    assert await trio.to_thread.run_sync(event.wait, 10)


@pytest.mark.parametrize("key", [RequestTimeout, 504, HTTPException])
async def test_a_slow_sync_handler_answers_the_deadline_within_the_grace(mock_clock, key):
    handler = Handler()
    app = deadline_app(handler, key)
    exchange: list[Exchange] = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_call_into, app, exchange)
        await trio.testing.wait_all_tasks_blocked()
        mock_clock.jump(2)  # the deadline passes
        await in_thread(handler.entered)
        mock_clock.jump(DEADLINE_HANDLER_GRACE * 0.9)  # slow, but within the grace
        await trio.testing.wait_all_tasks_blocked()
        handler.release.set()
    [answer] = exchange
    assert (answer.status, answer.body) == (504, b"handled 504")
    assert [m["type"] for m in answer.sent].count("http.response.start") == 1


async def test_past_the_grace_a_bare_504_goes_and_the_handlers_answer_is_dropped(
    mock_clock, caplog
):
    handler = Handler()
    app = deadline_app(handler, RequestTimeout)
    exchange: list[Exchange] = []
    answered = trio.Event()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_call_into, app, exchange, answered)
        await trio.testing.wait_all_tasks_blocked()
        mock_clock.jump(2)
        await in_thread(handler.entered)
        mock_clock.jump(DEADLINE_HANDLER_GRACE + 0.01)
        await trio.testing.wait_all_tasks_blocked()
        assert answered.is_set()  # while the handler's thread still runs
        handler.release.set()
    [answer] = exchange
    assert (answer.status, answer.body) == (504, BARE_504)
    assert [m["type"] for m in answer.sent].count("http.response.start") == 1
    assert "did not start a response within 1.0 s" in caplog.text


async def test_with_a_lifespan_a_thread_past_its_deadline_is_answered_by_the_slow_handler(
    mock_clock,
):
    # The watchdog answers for the request stuck in its sync endpoint; the
    # sync handler it calls gets the same grace.
    handler = Handler()
    endpoint_release = threading.Event()
    app = deadline_app(handler, RequestTimeout, sync_endpoint=endpoint_release)
    responses: list[httpx.Response] = []
    try:
        async with AsyncTestClient(app) as client, trio.open_nursery() as nursery:

            async def fetch() -> None:
                responses.append(await client.get("/slow"))

            nursery.start_soon(fetch)
            await trio.testing.wait_all_tasks_blocked()
            mock_clock.jump(2.1)  # past the deadline, while the endpoint's thread runs
            await in_thread(handler.entered)
            mock_clock.jump(DEADLINE_HANDLER_GRACE * 0.5)
            await trio.testing.wait_all_tasks_blocked()
            handler.release.set()
            endpoint_release.set()  # its result, when it returns, is dropped
    finally:
        handler.release.set()
        endpoint_release.set()
    [response] = responses
    assert (response.status_code, response.text) == (504, "handled 504")


async def _call_into(
    app: TrioAPI, into: list[Exchange], on_answer: trio.Event | None = None
) -> None:
    into.append(await call(app, "/slow", on_answer=None if on_answer is None else on_answer.set))


# -- through hypercorn, HTTP/1.1 and HTTP/2 (real clock) --------------------------


def served_app(delay: float, release: threading.Event) -> TrioAPI:
    app = TrioAPI()

    def slow_handler(request: Request, exc: RequestTimeout) -> PlainTextResponse:
        release.wait(delay)
        return PlainTextResponse("handled", status_code=504)

    app.add_exception_handler(RequestTimeout, slow_handler)

    @app.get("/slow", timeout=0.2)
    async def slow():
        await trio.sleep(10)

    @app.get("/alive")
    async def alive():
        return {"alive": True}

    return app


@pytest.mark.parametrize("http2", [False, True], ids=["http1.1", "http2"])
async def test_through_hypercorn_the_slow_handler_answers_then_the_grace_holds(http2):
    for delay, expected in ((0.1, b"handled"), (30, BARE_504)):
        release = threading.Event()
        try:
            async with (
                run_hypercorn(served_app(delay, release)) as url,
                httpx.AsyncClient(base_url=url, http1=not http2, http2=http2, timeout=10) as client,
            ):
                started = trio.current_time()
                response = await client.get("/slow")
                took = trio.current_time() - started
                assert (response.status_code, response.content) == (504, expected)
                # A bare 504 comes at the deadline plus the grace, not when the thread returns.
                assert took < 0.2 + DEADLINE_HANDLER_GRACE + 2
                assert (await client.get("/alive")).json() == {"alive": True}
                release.set()  # the held thread returns, so the server can stop
        finally:
            release.set()


async def test_a_deadline_handler_that_fails_still_leaves_the_client_a_504(autojump_clock, caplog):
    app = TrioAPI()

    @app.exception_handler(RequestTimeout)
    async def broken(request: Request, exc: RequestTimeout):
        raise KeyError("the handler's own bug")

    @app.get("/slow", timeout=2)
    async def slow():
        await trio.sleep(10)

    answered: list[float] = []
    with pytest.raises(KeyError, match="the handler's own bug"):
        await call(app, "/slow", on_answer=lambda: answered.append(trio.current_time()))
    assert answered == [2.0]  # the bare 504, at the deadline
    assert "did not start a response (it ended without one)" in caplog.text
