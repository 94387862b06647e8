"""Per-route and per-router body, JSON, multipart and send limits: the innermost wins."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import trio

from tests.serving import run_hypercorn
from tests.trio_support import Exchange, http_scope
from trioapi import APIRouter, Body, File, Request, TrioAPI, UploadFile
from trioapi._route_scope import NOT_GIVEN
from trioapi._watchdog import WATCH_AFTER
from trioapi.responses import StreamingResponse
from trioapi.testclient import TestClient
from trioapi.testing import AsyncTestClient

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
    assert statuses == {
        "/a/plain": 413,
        "/a/route-set": 200,
        "/b/router-set": 200,
        "/c/inner/nested": 200,
    }


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
    # No minimum rate: only the read deadline counts here.
    app = TrioAPI(body_timeout=60, min_body_rate=None)
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
    assert route.limits.max_json_depth is NOT_GIVEN


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


# -- multipart limits and the send timeout -----------------------------------------


def too_many_files(limit: int) -> dict[str, str]:
    return {"detail": f"Too many files. Maximum number of files is {limit}."}


async def count_parts(request: Request) -> dict[str, int]:
    form = await request.form()
    return {"parts": len(form.multi_items())}


def add_form(router: Any, path: str, **options: Any) -> None:
    router.add_api_route(path, count_parts, methods=["POST"], **options)


def upload(client: TestClient, path: str, files: int = 0, fields: int = 0, size: int = 1) -> Any:
    """POST a multipart body (always multipart, even with fields only)."""
    parts = [
        f'Content-Disposition: form-data; name="f"; filename="{index}.txt"\r\n\r\nx'
        for index in range(files)
    ]
    parts += [
        f'Content-Disposition: form-data; name="field{index}"\r\n\r\n' + "v" * size
        for index in range(fields)
    ]
    body = "".join(f"--B\r\n{part}\r\n" for part in parts) + "--B--\r\n"
    headers = {"content-type": "multipart/form-data; boundary=B"}
    return client.post(path, content=body.encode(), headers=headers)


def test_form_limits_on_app_router_and_route():
    app = TrioAPI(max_form_files=2)
    add_form(app, "/app")
    add_form(app, "/route", max_form_files=5)
    add_form(app, "/unlimited", max_form_files=None)
    router = APIRouter(max_form_files=1)
    add_form(router, "/router")
    add_form(router, "/router-route", max_form_files=3)
    app.include_router(router)
    with TestClient(app) as client:
        results = {
            "app": (upload(client, "/app", 2), upload(client, "/app", 3)),
            "route": (upload(client, "/route", 5), upload(client, "/route", 6)),
            "unlimited": (upload(client, "/unlimited", 1500),),
            "router": (upload(client, "/router", 1), upload(client, "/router", 2)),
            "router-route": (
                upload(client, "/router-route", 3),
                upload(client, "/router-route", 4),
            ),
        }
    bodies = {name: [(r.status_code, r.json()) for r in pair] for name, pair in results.items()}
    assert bodies == {
        "app": [(200, {"parts": 2}), (400, too_many_files(2))],
        "route": [(200, {"parts": 5}), (400, too_many_files(5))],
        "unlimited": [(200, {"parts": 1500})],
        "router": [(200, {"parts": 1}), (400, too_many_files(1))],
        "router-route": [(200, {"parts": 3}), (400, too_many_files(3))],
    }


def test_route_field_and_part_size_limits_and_explicit_arguments_win():
    app = TrioAPI()
    add_form(app, "/fields", max_form_fields=2)
    add_form(app, "/part", max_form_part_size=1024, max_form_files=0)

    @app.post("/explicit", max_form_files=1)
    async def explicit(request: Request) -> dict[str, int]:
        form = await request.form(max_files=3)
        return {"parts": len(form.multi_items())}

    with TestClient(app) as client:
        fields_ok = upload(client, "/fields", files=1, fields=2)
        fields_over = upload(client, "/fields", files=1, fields=3)
        part_ok = upload(client, "/part", fields=1, size=1024)
        part_over = upload(client, "/part", fields=1, size=1025)
        files_refused = upload(client, "/part", files=1)
        explicit_ok = upload(client, "/explicit", files=3)
        explicit_over = upload(client, "/explicit", files=4)
        default = upload(client, "/fields", files=3)
    assert (fields_ok.status_code, fields_ok.json()) == (200, {"parts": 3})
    assert (fields_over.status_code, fields_over.json()) == (
        400,
        {"detail": "Too many fields. Maximum number of fields is 2."},
    )
    assert (part_ok.status_code, part_ok.json()) == (200, {"parts": 1})
    assert (part_over.status_code, part_over.json()) == (
        400,
        {"detail": "Part exceeded maximum size of 1KB."},
    )
    assert (files_refused.status_code, files_refused.json()) == (400, too_many_files(0))
    assert (explicit_ok.status_code, explicit_ok.json()) == (200, {"parts": 3})
    assert (explicit_over.status_code, explicit_over.json()) == (400, too_many_files(3))
    # Setting the fields limit leaves the app's files limit in place.
    assert (default.status_code, default.json()) == (200, {"parts": 3})


def test_typed_file_parameters_are_held_to_the_routes_form_limits():
    app = TrioAPI(max_form_files=1)

    async def names(f: list[UploadFile] = File()) -> list[str]:
        return [upload_file.filename or "" for upload_file in f]

    app.add_api_route("/app", names, methods=["POST"])
    app.add_api_route("/route", names, methods=["POST"], max_form_files=3)
    with TestClient(app) as client:
        app_over = upload(client, "/app", 2)
        route_ok = upload(client, "/route", 3)
        route_over = upload(client, "/route", 4)
    assert (app_over.status_code, app_over.json()) == (400, too_many_files(1))
    assert (route_ok.status_code, route_ok.json()) == (200, ["0.txt", "1.txt", "2.txt"])
    assert (route_over.status_code, route_over.json()) == (400, too_many_files(3))


def test_include_router_merges_form_limits_and_send_timeout():
    app = TrioAPI()
    plain = APIRouter()
    add_form(plain, "/plain")
    add_form(plain, "/route-set", max_form_fields=7, send_timeout=None)
    limited = APIRouter(max_form_part_size=100, send_timeout=5)
    add_form(limited, "/router-set")
    app.include_router(plain, prefix="/a", max_form_fields=4, send_timeout=2)
    app.include_router(limited, prefix="/b", max_form_part_size=50, send_timeout=9)
    settings = {
        route.path: (route.max_form_fields, route.max_form_part_size, route.send_timeout)
        for route in app.routes
        if hasattr(route, "scope_settings")
    }
    not_given = app.routes[-1].max_form_files
    assert settings == {
        "/a/plain": (4, not_given, 2),
        "/a/route-set": (7, not_given, None),
        "/b/router-set": (not_given, 100, 5),
    }
    with TestClient(app) as client:
        plain_over = upload(client, "/a/plain", fields=5)
        route_set = upload(client, "/a/route-set", fields=5)
    assert (plain_over.status_code, route_set.status_code) == (400, 200)


def test_a_route_that_sets_only_a_form_or_send_limit_has_settings():
    app = TrioAPI()
    add_form(app, "/form", max_form_fields=3)
    add_form(app, "/send", send_timeout=1)
    add_form(app, "/none")
    settings = [route.scope_settings for route in app.routes[-3:]]
    assert settings[0] is not None and settings[0].max_form_fields == 3
    assert settings[1] is not None and settings[1].send_timeout == 1
    assert settings[2] is None


class StalledReader:
    """Takes the response start and the first body chunk, then never reads again."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.body_sent = False

    async def receive(self) -> dict[str, Any]:
        if not self.body_sent:
            self.body_sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await trio.sleep_forever()
        raise AssertionError("unreachable")

    async def send(self, message: dict[str, Any]) -> None:
        if len(self.sent) >= 2:
            await trio.sleep_forever()
        self.sent.append(message["type"])


def endless_stream(cancelled: list[str]) -> Any:
    """An endpoint streaming chunks forever; records its path in ``cancelled`` when stopped."""

    async def endless(request: Request) -> StreamingResponse:
        async def chunks():
            try:
                while True:
                    yield b"chunk"
            finally:
                cancelled.append(request.url.path)

        return StreamingResponse(chunks())

    return endless


async def seconds_until_given_up(app: TrioAPI, path: str) -> float:
    """How long a request to ``path`` runs when its client stops reading after one chunk."""
    client = StalledReader()
    start = trio.current_time()
    with trio.fail_after(100):
        await app(http_scope(path), client.receive, client.send)
    assert client.sent == ["http.response.start", "http.response.body"]
    return trio.current_time() - start


async def test_send_timeout_on_app_router_and_route(autojump_clock):
    app = TrioAPI(send_timeout=30)
    cancelled: list[str] = []
    endless = endless_stream(cancelled)
    app.add_api_route("/app", endless)
    app.add_api_route("/route", endless, send_timeout=7)
    router = APIRouter(send_timeout=3)
    router.add_api_route("/router", endless)
    app.include_router(router)
    waited = {
        path: await seconds_until_given_up(app, path) for path in ["/route", "/router", "/app"]
    }
    assert waited == pytest.approx({"/route": 7.0, "/router": 3.0, "/app": 30.0})
    assert cancelled == ["/route", "/router", "/app"]


async def test_under_a_lifespan_the_watchdog_gives_up_on_a_stalled_send(autojump_clock):
    # With the lifespan running, one watchdog task times every request's
    # sends (no cancel scope per message): a stalled send is given up on
    # after its timeout, and at most a tick and a half later.
    app = TrioAPI(send_timeout=30)
    cancelled: list[str] = []
    app.add_api_route("/app", endless_stream(cancelled))
    app.add_api_route("/route", endless_stream(cancelled), send_timeout=7)
    async with AsyncTestClient(app):  # runs the lifespan, so the watchdog
        waited = {path: await seconds_until_given_up(app, path) for path in ["/route", "/app"]}
    assert 7.0 <= waited["/route"] <= 7.0 + 1.5 * WATCH_AFTER
    assert 30.0 <= waited["/app"] <= 30.0 + 1.5 * WATCH_AFTER
    assert cancelled == ["/route", "/app"]
