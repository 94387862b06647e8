"""Per-route and per-router ``max_body_size=``, ``body_timeout=``, ``max_json_depth=``: the innermost wins."""

from __future__ import annotations

from typing import Any

import httpx
import trio

from tests.serving import run_hypercorn
from tests.trio_support import Exchange, http_scope
from trioapi import APIRouter, Body, Request, TrioAPI
from trioapi._route_scope import NOT_GIVEN
from trioapi.testclient import TestClient

TOO_LARGE = {"detail": "Request body is too large"}


async def body_size(request: Request) -> dict[str, int]:
    return {"size": len(await request.body())}


def add_echo(router: Any, path: str, **options: Any) -> None:
    router.add_api_route(path, body_size, methods=["POST"], **options)


def test_a_route_can_lower_the_apps_body_limit():
    app = TrioAPI()
    add_echo(app, "/default")

    @app.post("/small", max_body_size=10)
    async def small(request: Request) -> dict[str, int]:
        return await body_size(request)

    with TestClient(app) as client:
        refused = client.post("/small", content=b"x" * 11)
        accepted = client.post("/small", content=b"x" * 10)
        other = client.post("/default", content=b"x" * 11)
    assert (refused.status_code, refused.json()) == (413, TOO_LARGE)
    assert (accepted.status_code, accepted.json()) == (200, {"size": 10})
    assert (other.status_code, other.json()) == (200, {"size": 11})


def test_a_route_can_raise_or_lift_the_apps_body_limit():
    app = TrioAPI(max_body_size=10)
    add_echo(app, "/large", max_body_size=1000)
    add_echo(app, "/unlimited", max_body_size=None)
    add_echo(app, "/default")
    with TestClient(app) as client:
        large = client.post("/large", content=b"x" * 500)
        too_large = client.post("/large", content=b"x" * 1001)
        unlimited = client.post("/unlimited", content=b"x" * 100_000)
        other = client.post("/default", content=b"x" * 11)
    assert (large.status_code, large.json()) == (200, {"size": 500})
    assert (too_large.status_code, too_large.json()) == (413, TOO_LARGE)
    assert (unlimited.status_code, unlimited.json()) == (200, {"size": 100_000})
    assert (other.status_code, other.json()) == (413, TOO_LARGE)


def test_a_chunked_body_without_content_length_is_held_to_the_routes_limit():
    app = TrioAPI(max_body_size=10)
    add_echo(app, "/large", max_body_size=100)

    def chunks(count: int):
        for _ in range(count):
            yield b"x" * 20

    with TestClient(app) as client:
        accepted = client.post("/large", content=chunks(4))
        refused = client.post("/large", content=chunks(6))
    assert (accepted.status_code, accepted.json()) == (200, {"size": 80})
    assert (refused.status_code, refused.json()) == (413, TOO_LARGE)


def test_a_routers_body_limit_applies_to_its_routes_and_a_routes_own_wins():
    app = TrioAPI()
    router = APIRouter(prefix="/r", max_body_size=10)
    add_echo(router, "/inherits")
    add_echo(router, "/own", max_body_size=50)
    app.include_router(router)
    with TestClient(app) as client:
        inherits = client.post("/r/inherits", content=b"x" * 20)
        own = client.post("/r/own", content=b"x" * 20)
    assert (inherits.status_code, inherits.json()) == (413, TOO_LARGE)
    assert (own.status_code, own.json()) == (200, {"size": 20})


def test_include_router_limits_apply_where_the_router_and_route_set_none():
    app = TrioAPI()
    plain = APIRouter()
    add_echo(plain, "/plain")
    add_echo(plain, "/route-set", max_body_size=40)
    limited = APIRouter(max_body_size=30)
    add_echo(limited, "/router-set")
    inner = APIRouter()
    add_echo(inner, "/nested")
    outer = APIRouter()
    outer.include_router(inner, prefix="/inner", max_body_size=25)
    app.include_router(plain, prefix="/a", max_body_size=10)
    app.include_router(limited, prefix="/b", max_body_size=10)
    app.include_router(outer, prefix="/c", max_body_size=10)
    sizes = {
        route.path: route.max_body_size for route in app.routes if hasattr(route, "max_body_size")
    }
    assert sizes == {"/a/plain": 10, "/a/route-set": 40, "/b/router-set": 30, "/c/inner/nested": 25}
    with TestClient(app) as client:
        statuses = {
            path: client.post(path, content=b"x" * 20).status_code
            for path in ["/a/plain", "/a/route-set", "/b/router-set", "/c/inner/nested"]
        }
    assert statuses == {"/a/plain": 413, "/a/route-set": 200, "/b/router-set": 200, "/c/inner/nested": 200}


async def post_slowly(app: TrioAPI, path: str, *, delay: float) -> Exchange:
    """POST ``b"late"`` whose only chunk arrives ``delay`` seconds after the app asks."""
    exchange = Exchange()

    async def receive() -> dict[str, Any]:
        await trio.sleep(delay)
        return {"type": "http.request", "body": b"late", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        exchange.sent.append(message)

    headers = [(b"content-length", b"4")]
    await app(http_scope(path, "POST", headers), receive, send)
    return exchange


async def test_a_route_or_router_body_timeout_replaces_the_apps(autojump_clock):
    app = TrioAPI(body_timeout=60)
    add_echo(app, "/impatient", body_timeout=2)
    add_echo(app, "/patient-route", body_timeout=None)
    add_echo(app, "/default")
    router = APIRouter(body_timeout=5)
    add_echo(router, "/router")
    app.include_router(router)
    impatient = await post_slowly(app, "/impatient", delay=3)
    router_late = await post_slowly(app, "/router", delay=6)
    router_in_time = await post_slowly(app, "/router", delay=4)
    default = await post_slowly(app, "/default", delay=30)
    patient = await post_slowly(app, "/patient-route", delay=1000)
    app_limit = await post_slowly(app, "/default", delay=61)
    timed_out = {"detail": "Request body was not received in time"}
    assert (impatient.status, impatient.json()) == (408, timed_out)
    assert (router_late.status, router_late.json()) == (408, timed_out)
    assert (router_in_time.status, router_in_time.json()) == (200, {"size": 4})
    assert (default.status, default.json()) == (200, {"size": 4})
    assert (patient.status, patient.json()) == (200, {"size": 4})
    assert (app_limit.status, app_limit.json()) == (408, timed_out)


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def test_max_json_depth_on_app_router_and_route():
    app = TrioAPI(max_json_depth=3)

    async def echo(payload: Any = Body()) -> dict[str, Any]:
        return {"ok": True}

    app.add_api_route("/app", echo, methods=["POST"])
    app.add_api_route("/route", echo, methods=["POST"], max_json_depth=5)
    router = APIRouter(max_json_depth=None)
    router.add_api_route("/router", echo, methods=["POST"])
    router.add_api_route("/router-route", echo, methods=["POST"], max_json_depth=2)
    app.include_router(router)
    headers = {"content-type": "application/json"}
    with TestClient(app) as client:

        def status(path: str, depth: int) -> int:
            return client.post(path, content=nested(depth), headers=headers).status_code

        results = {
            "app": (status("/app", 3), status("/app", 4)),
            "route": (status("/route", 5), status("/route", 6)),
            "router": (status("/router", 500),),
            "router-route": (status("/router-route", 2), status("/router-route", 3)),
        }
        refused = client.post("/route", content=nested(6), headers=headers).json()
    assert results == {
        "app": (200, 422),
        "route": (200, 422),
        "router": (200,),
        "router-route": (200, 422),
    }
    assert refused["detail"][0]["ctx"] == {
        "error": "JSON nesting is deeper than the limit of 5 levels"
    }


def test_a_route_that_sets_no_limit_has_no_per_request_settings():
    app = TrioAPI()

    @app.post("/plain")
    async def plain(payload: Any = Body()) -> None:
        return None

    route = app.routes[-1]
    assert route.scope_settings is None
    assert route.body_plan.max_json_depth is NOT_GIVEN


async def test_route_body_limits_through_real_hypercorn():
    app = TrioAPI(max_body_size=1000)
    add_echo(app, "/large", max_body_size=100_000)
    add_echo(app, "/small", max_body_size=100)
    add_echo(app, "/default")

    async def chunked(size: int):
        for _ in range(size // 50):
            yield b"x" * 50

    # One client, connections reused: a 413 says "Connection: close", so the
    # request after it gets a fresh connection instead of the leftover body.
    async with run_hypercorn(app) as url, httpx.AsyncClient(base_url=url) as client:
        large = await client.post("/large", content=b"x" * 50_000)
        large_chunked = await client.post("/large", content=chunked(50_000))
        default = await client.post("/default", content=b"x" * 50_000)
        small = await client.post("/small", content=chunked(500))
        small_ok = await client.post("/small", content=b"x" * 100)
    assert (large.status_code, large.json()) == (200, {"size": 50_000})
    assert (large_chunked.status_code, large_chunked.json()) == (200, {"size": 50_000})
    assert (default.status_code, default.json()) == (413, TOO_LARGE)
    assert (small.status_code, small.json()) == (413, TOO_LARGE)
    assert default.headers["connection"] == small.headers["connection"] == "close"
    assert (small_ok.status_code, small_ok.json()) == (200, {"size": 100})
    assert "connection" not in small_ok.headers or small_ok.headers["connection"] != "close"
