"""Independent async dependencies are resolved concurrently; order, caching and errors hold."""

import contextvars
import logging
import re
from typing import Annotated

import pytest
import trio

from tests.trio_support import call
from trioapi import Depends, Request, TrioAPI
from trioapi.responses import JSONResponse


def two_slow_dependencies(**app_options) -> TrioAPI:
    app = TrioAPI(**app_options)

    async def users() -> str:
        await trio.sleep(0.1)
        return "users"

    async def orders() -> str:
        await trio.sleep(0.1)
        return "orders"

    @app.get("/")
    async def endpoint(u: Annotated[str, Depends(users)], o: Annotated[str, Depends(orders)]):
        return {"u": u, "o": o, "at": trio.current_time()}

    return app


async def test_two_independent_100ms_dependencies_resolve_in_100ms(autojump_clock):
    exchange = await call(two_slow_dependencies(), "/")
    assert exchange.json() == {"u": "users", "o": "orders", "at": pytest.approx(0.1)}


async def test_the_app_can_opt_out_and_resolve_them_one_after_the_other(autojump_clock):
    exchange = await call(two_slow_dependencies(concurrent_dependencies=False), "/")
    assert exchange.json() == {"u": "users", "o": "orders", "at": pytest.approx(0.2)}


async def test_a_shared_dependency_runs_once_and_its_dependants_wait_for_it(autojump_clock):
    app = TrioAPI()
    calls = []

    async def settings() -> int:
        calls.append("settings")
        await trio.sleep(0.1)
        return 7

    async def left(s: Annotated[int, Depends(settings)]) -> int:
        await trio.sleep(0.1)
        return s + 1

    async def right(s: Annotated[int, Depends(settings)]) -> int:
        await trio.sleep(0.1)
        return s + 2

    async def fresh(s: Annotated[int, Depends(settings, use_cache=False)]) -> int:
        return s

    @app.get("/")
    async def endpoint(
        a: Annotated[int, Depends(left)],
        b: Annotated[int, Depends(right)],
        c: Annotated[int, Depends(fresh)],
    ):
        return {"values": [a, b, c], "at": trio.current_time()}

    exchange = await call(app, "/")
    # settings (and the uncached copy, beside it) 0.1, then left and right together 0.1
    assert exchange.json() == {"values": [8, 9, 7], "at": pytest.approx(0.2)}
    assert calls == ["settings", "settings"]  # once cached, once for use_cache=False


async def test_yield_and_sync_dependencies_keep_their_order_and_task(autojump_clock):
    app = TrioAPI()
    log = []
    request_id = contextvars.ContextVar("request_id")

    async def resource():
        request_id.set("r-1")  # set in the request's task: seen by everything inside
        log.append(("resource", trio.lowlevel.current_task()))
        yield "db"
        log.append(("resource closed", trio.lowlevel.current_task()))

    def first() -> str:
        log.append(("first", None))
        return "first"

    def second(_: Annotated[str, Depends(first)]) -> str:
        log.append(("second", None))
        return "second"

    async def slow_a(db: Annotated[str, Depends(resource)]) -> str:
        await trio.sleep(0.1)
        return f"a:{request_id.get()}"

    async def slow_b() -> str:
        await trio.sleep(0.1)
        return f"b:{request_id.get()}"

    @app.get("/")
    async def endpoint(
        a: Annotated[str, Depends(slow_a)],
        s: Annotated[str, Depends(second)],
        b: Annotated[str, Depends(slow_b)],
    ):
        log.append(("endpoint", trio.lowlevel.current_task()))
        return [a, s, b]

    exchange = await call(app, "/")
    assert exchange.json() == ["a:r-1", "second", "b:r-1"]
    assert [name for name, _ in log] == [
        "resource",
        "first",
        "second",
        "endpoint",
        "resource closed",
    ]
    tasks = {task for name, task in log if task is not None}
    assert len(tasks) == 1  # yield dependency and endpoint share the request's task


async def test_when_one_fails_the_others_are_cancelled(autojump_clock):
    app = TrioAPI()
    log = []

    async def fails() -> None:
        await trio.sleep(0.05)
        raise ValueError("no stock")

    async def slow() -> None:
        try:
            await trio.sleep(1)
        except trio.Cancelled:
            log.append(f"slow cancelled at {trio.current_time():.2f}")
            raise

    @app.exception_handler(ValueError)
    async def on_value_error(request: Request, exc: ValueError):
        return JSONResponse({"error": str(exc)}, status_code=409)

    @app.get("/")
    async def endpoint(_a: Annotated[None, Depends(fails)], _b: Annotated[None, Depends(slow)]):
        return {}

    exchange = await call(app, "/")
    assert (exchange.status, exchange.json()) == (409, {"error": "no stock"})
    assert log == ["slow cancelled at 0.05"]


async def test_two_failures_at_once_the_handler_sees_the_first_and_the_other_is_logged(
    autojump_clock, caplog
):
    app = TrioAPI()

    # Both fail before their first checkpoint, so neither can be cancelled first.
    async def first_check() -> None:
        raise ValueError("first")

    async def second_check() -> None:
        raise KeyError("second")

    @app.exception_handler(ValueError)
    async def on_value_error(request: Request, exc: ValueError):
        return JSONResponse({"type": type(exc).__name__, "error": str(exc)}, status_code=400)

    @app.get("/checked")
    async def endpoint(
        _a: Annotated[None, Depends(first_check)], _b: Annotated[None, Depends(second_check)]
    ):
        return {}

    with caplog.at_level(logging.ERROR, logger="trioapi"):
        exchange = await call(app, "/checked", headers=[(b"x-request-id", b"abc")])
    assert (exchange.status, exchange.json()) == (400, {"type": "ValueError", "error": "first"})
    [record] = caplog.records
    assert re.fullmatch(
        r"The dependency \S*second_check\(\) also failed in GET /checked \(request id abc\)",
        record.getMessage(),
    )
    assert isinstance(record.exc_info[1], KeyError)
    assert (record.method, record.path, record.request_id) == ("GET", "/checked", "abc")


async def test_a_disconnect_reaches_yield_dependencies_as_plain_cancelled(autojump_clock):
    app = TrioAPI()
    log = []

    async def resource():
        try:
            yield
        except trio.Cancelled:
            log.append("resource saw Cancelled")
            raise

    async def slow() -> None:
        await trio.sleep(10)

    @app.get("/")
    async def endpoint(
        _r: Annotated[None, Depends(resource)],
        _a: Annotated[None, Depends(slow)],
        _b: Annotated[None, Depends(slow, use_cache=False)],
    ):
        log.append("endpoint")

    exchange = await call(app, "/", disconnect_after=1)
    assert log == ["resource saw Cancelled"]
    assert exchange.sent == []


async def test_validation_errors_of_concurrent_dependencies_are_reported_in_order(autojump_clock):
    app = TrioAPI()

    async def page(page: int) -> int:
        await trio.sleep(0.1)
        return page

    async def size(size: int) -> int:
        await trio.sleep(0.05)
        return size

    @app.get("/")
    async def endpoint(p: Annotated[int, Depends(page)], s: Annotated[int, Depends(size)]):
        return {}

    exchange = await call(app, "/")
    assert exchange.status == 422
    assert [error["loc"] for error in exchange.json()["detail"]] == [
        ["query", "page"],
        ["query", "size"],
    ]
