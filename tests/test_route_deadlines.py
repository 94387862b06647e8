"""Per-route and per-router ``timeout=`` and ``cancel_on_disconnect=``: the innermost wins."""

import logging
from typing import Annotated

import pytest
import trio

from tests.trio_support import call
from trioapi import APIRouter, Depends, Request, TrioAPI
from trioapi.exceptions import HTTPException, RequestTimeout
from trioapi.responses import JSONResponse, PlainTextResponse, StreamingResponse


def slow_app(**app_options) -> tuple[TrioAPI, list[str]]:
    log: list[str] = []
    app = TrioAPI(**app_options)

    async def resource():
        try:
            yield
        except trio.Cancelled:
            log.append("resource saw cancel")
            raise
        finally:
            log.append("resource closed")

    async def sleep_then_answer(seconds: float) -> dict:
        await trio.sleep(seconds)
        log.append("finished")
        return {"slept": seconds}

    @app.get("/route-timeout", timeout=2)
    async def route_timeout(_: Annotated[None, Depends(resource)]):
        return await sleep_then_answer(10)

    @app.get("/no-deadline", timeout=None)
    async def no_deadline():
        return await sleep_then_answer(10)

    @app.get("/app-timeout")
    async def app_timeout():
        return await sleep_then_answer(10)

    return app, log


async def test_route_timeout_answers_504_at_the_routes_deadline(autojump_clock):
    app, log = slow_app()
    exchange = await call(app, "/route-timeout")
    assert exchange.status == 504
    assert exchange.json() == {"detail": "Gateway Timeout"}
    assert exchange.finished_at == pytest.approx(2)
    assert log == ["resource saw cancel", "resource closed"]


async def test_route_timeout_none_lifts_the_apps_deadline(autojump_clock):
    app, log = slow_app(timeout=1)
    lifted = await call(app, "/no-deadline")
    assert (lifted.status, lifted.json()) == (200, {"slept": 10})
    inherited = await call(app, "/app-timeout")
    assert inherited.status == 504
    assert inherited.finished_at - lifted.finished_at == pytest.approx(1)


async def test_route_timeout_is_shorter_than_the_apps(autojump_clock):
    app, _ = slow_app(timeout=5)
    exchange = await call(app, "/route-timeout")
    assert exchange.status == 504
    assert exchange.finished_at == pytest.approx(2)


def router_app() -> TrioAPI:
    router = APIRouter(prefix="/r", timeout=3)

    @router.get("/inherits")
    async def inherits():
        await trio.sleep(10)

    @router.get("/own", timeout=1)
    async def own():
        await trio.sleep(10)

    plain = APIRouter()

    @plain.get("/plain")
    async def plain_route():
        await trio.sleep(10)

    app = TrioAPI(timeout=7)
    app.include_router(router)
    app.include_router(plain, prefix="/included", timeout=5)
    app.include_router(router, prefix="/again", timeout=6)
    return app


@pytest.mark.parametrize(
    ("path", "deadline"),
    [
        ("/r/inherits", 3),  # the router's
        ("/r/own", 1),  # the route's, over the router's
        ("/included/plain", 5),  # the include call's, as neither route nor router set one
        ("/again/r/inherits", 3),  # the included router's own, over the include call's
    ],
)
async def test_innermost_timeout_wins(autojump_clock, path, deadline):
    start = trio.current_time()
    exchange = await call(router_app(), path)
    assert exchange.status == 504
    assert exchange.finished_at - start == pytest.approx(deadline)


async def test_a_handler_for_request_timeout_replaces_the_504(autojump_clock):
    app, _ = slow_app()

    @app.exception_handler(RequestTimeout)
    async def on_timeout(request: Request, exc: RequestTimeout):
        return JSONResponse(
            {"error": "too slow", "path": request.url.path}, status_code=exc.status_code
        )

    exchange = await call(app, "/route-timeout")
    assert (exchange.status, exchange.json()) == (
        504,
        {"error": "too slow", "path": "/route-timeout"},
    )


async def test_a_handler_for_status_504_or_http_exception_answers_timeouts(autojump_clock):
    app, _ = slow_app()

    # async handlers: a sync one runs in a worker thread, and on the mock clock
    # virtual time races past the deadline guard's grace while it runs.
    async def http_handler(request, exc):
        return PlainTextResponse(f"http {exc.status_code}", 599)

    async def gateway_handler(request, exc):
        return PlainTextResponse("gateway", 504)

    app.add_exception_handler(HTTPException, http_handler)
    assert (await call(app, "/route-timeout")).body == b"http 504"
    app.add_exception_handler(504, gateway_handler)
    exchange = await call(app, "/route-timeout")
    assert (exchange.status, exchange.body) == (504, b"gateway")


async def test_route_deadline_ends_a_stream_that_has_started(autojump_clock):
    app = TrioAPI()
    log = []

    @app.get("/ticks", timeout=2.5)
    async def ticks():
        async def gen():
            try:
                for i in range(10):
                    yield f"{i}\n"
                    await trio.sleep(1)
            finally:
                log.append("stream closed")

        return StreamingResponse(gen(), media_type="text/plain")

    exchange = await call(app, "/ticks")
    assert exchange.status == 200
    assert exchange.body == b"0\n1\n2\n"
    assert exchange.finished_at == pytest.approx(2.5)
    assert log == ["stream closed"]


def disconnect_app(**app_options) -> tuple[TrioAPI, list[str]]:
    log: list[str] = []
    app = TrioAPI(**app_options)
    keep = APIRouter(cancel_on_disconnect=False)

    async def work(name: str) -> str:
        try:
            await trio.sleep(5)
        except trio.Cancelled:
            log.append(f"{name} cancelled")
            raise
        log.append(f"{name} finished")
        return name

    @keep.get("/router-keeps")
    async def router_keeps():
        return await work("router-keeps")

    @keep.get("/route-cancels", cancel_on_disconnect=True)
    async def route_cancels():
        return await work("route-cancels")

    @app.get("/route-keeps", cancel_on_disconnect=False)
    async def route_keeps():
        return await work("route-keeps")

    @app.get("/default")
    async def default():
        return await work("default")

    app.include_router(keep)
    return app, log


@pytest.mark.parametrize(
    ("app_setting", "path", "expected"),
    [
        (True, "/default", "default cancelled"),
        (True, "/route-keeps", "route-keeps finished"),
        (True, "/router-keeps", "router-keeps finished"),
        (True, "/route-cancels", "route-cancels cancelled"),
        (False, "/default", "default finished"),
        (False, "/route-cancels", "route-cancels cancelled"),
    ],
)
async def test_innermost_cancel_on_disconnect_wins(autojump_clock, app_setting, path, expected):
    app, log = disconnect_app(cancel_on_disconnect=app_setting)
    await call(app, path, disconnect_after=1)
    assert log == [expected]


async def test_switching_cancellation_on_after_the_client_left_cancels_at_once(autojump_clock):
    log = []
    app = TrioAPI(cancel_on_disconnect=False)

    @app.middleware("http")
    async def slow_middleware(request, call_next):
        await trio.sleep(3)  # the client leaves meanwhile
        return await call_next(request)

    @app.get("/", cancel_on_disconnect=True)
    async def endpoint():
        log.append("endpoint started")
        await trio.sleep(10)
        log.append("endpoint finished")

    exchange = await call(app, "/", disconnect_after=1)
    assert log == ["endpoint started"]
    assert exchange.finished_at == pytest.approx(3)


async def test_a_disconnect_is_logged_as_information_not_as_an_error(autojump_clock, caplog):
    app, log = disconnect_app()
    with caplog.at_level(logging.INFO, logger="trioapi"):
        await call(app, "/default", disconnect_after=1, headers=[(b"x-request-id", b"abc")])
    assert log == ["default cancelled"]
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.INFO, "Client went away; GET /default (request id abc) was cancelled")
    ]
