"""trioapi.applications.Starlette: the toolkit-level app under TrioAPI."""

from __future__ import annotations

from contextlib import asynccontextmanager

import httpx
import pytest

from tests.serving import run_hypercorn
from trioapi import TrioAPI
from trioapi.applications import Starlette
from trioapi.exceptions import HTTPException, TrioAPIError
from trioapi.middleware import Middleware
from trioapi.middleware.sessions import SessionMiddleware
from trioapi.requests import Request
from trioapi.responses import JSONResponse, PlainTextResponse
from trioapi.routing import Mount, Route
from trioapi.testclient import TestClient


def home(request: Request) -> PlainTextResponse:
    return PlainTextResponse("home")


def teapot(request: Request) -> PlainTextResponse:
    raise HTTPException(418, "short and stout")


def test_errors_are_plain_text_and_there_are_no_docs_routes():
    app = Starlette(routes=[Route("/", home), Route("/tea", teapot)])
    client = TestClient(app)

    missing = client.get("/nope")
    wrong_method = client.post("/")
    tea = client.get("/tea")

    assert (missing.status_code, missing.text) == (404, "Not Found")
    assert missing.headers["content-type"] == "text/plain; charset=utf-8"
    assert (wrong_method.status_code, wrong_method.text) == (405, "Method Not Allowed")
    assert wrong_method.headers["allow"] == "GET, HEAD"
    assert (tea.status_code, tea.text) == (418, "short and stout")
    assert [route.path for route in app.routes] == ["/", "/tea"]
    assert client.get("/openapi.json").status_code == 404


def test_trioapi_is_a_starlette_and_keeps_its_json_errors():
    app = TrioAPI()

    response = TestClient(app).get("/nope")

    assert isinstance(app, Starlette)
    assert response.json() == {"detail": "Not Found"}


def test_exception_handlers_middleware_and_state():
    def on_teapot(request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"tea": exc.detail}, status_code=exc.status_code)

    def counter(request: Request) -> JSONResponse:
        request.session["n"] = request.session.get("n", 0) + 1
        return JSONResponse({"n": request.session["n"], "name": request.app.state.name})

    app = Starlette(
        routes=[Route("/tea", teapot), Route("/count", counter)],
        middleware=[Middleware(SessionMiddleware, secret_key="k")],
        exception_handlers={418: on_teapot},
    )
    app.state.name = "demo"
    client = TestClient(app)

    assert client.get("/tea").json() == {"tea": "short and stout"}
    assert client.get("/count").json() == {"n": 1, "name": "demo"}
    assert client.get("/count").json() == {"n": 2, "name": "demo"}


def test_lifespan_runs_with_an_app_nursery():
    events: list[str] = []

    @asynccontextmanager
    async def lifespan(app: Starlette):
        events.append(f"startup nursery={app.app_nursery is not None}")
        yield
        events.append("shutdown")

    with TestClient(Starlette(routes=[Route("/", home)], lifespan=lifespan)) as client:
        assert client.get("/").text == "home"

    assert events == ["startup nursery=True", "shutdown"]


def test_url_path_for_mount_and_host_helpers():
    app = Starlette(routes=[Route("/", home, name="home")])
    app.mount("/sub", Starlette(routes=[Route("/x", home, name="x")]), name="sub")
    app.add_route("/added", home, name="added")

    client = TestClient(app)

    assert app.url_path_for("home") == "/"
    assert app.url_path_for("sub:x") == "/sub/x"
    assert client.get("/sub/x").text == "home"
    assert client.get("/added").text == "home"
    assert isinstance(app.routes[1], Mount)


def test_add_middleware_after_start_is_refused():
    app = Starlette(routes=[Route("/", home)])
    TestClient(app).get("/")

    with pytest.raises(
        TrioAPIError,
        match="Cannot add middleware SessionMiddleware after an application has started",
    ):
        app.add_middleware(SessionMiddleware, secret_key="k")


async def test_starlette_app_and_session_through_hypercorn():
    def counter(request: Request) -> PlainTextResponse:
        request.session["n"] = request.session.get("n", 0) + 1
        return PlainTextResponse(str(request.session["n"]))

    app = Starlette(
        routes=[Route("/", counter)],
        middleware=[Middleware(SessionMiddleware, secret_key="k", partitioned=True)],
    )
    async with run_hypercorn(app) as url, httpx.AsyncClient(base_url=url) as client:
        first = await client.get("/")
        second = await client.get("/")
        missing = await client.get("/nope")

    assert (first.text, second.text) == ("1", "2")
    assert first.headers["vary"] == "Cookie"
    assert "partitioned" in first.headers["set-cookie"]
    assert (missing.status_code, missing.text) == (404, "Not Found")


@pytest.mark.parametrize("app_class", [Starlette, TrioAPI])
def test_user_middleware_sees_the_lifespan_scope_once_per_server(app_class):
    seen: list[str] = []

    class Recorder:
        def __init__(self, app):
            self.app = app

        async def __call__(self, scope, receive, send):
            seen.append(scope["type"])
            await self.app(scope, receive, send)

    @asynccontextmanager
    async def lifespan(app):
        seen.append("startup")
        yield
        seen.append("shutdown")

    app = app_class(lifespan=lifespan, middleware=[Middleware(Recorder)])

    with TestClient(app) as client:
        client.get("/nope")

    assert seen == ["lifespan", "startup", "http", "shutdown"]


def test_generator_lifespans_still_work_with_a_deprecation_warning():
    from trioapi.exceptions import TrioAPIDeprecationWarning

    events: list[str] = []

    async def lifespan(app):
        events.append("up")
        yield
        events.append("down")

    with pytest.warns(
        TrioAPIDeprecationWarning, match="async generator function lifespans are deprecated"
    ):
        app = Starlette(lifespan=lifespan)
    with TestClient(app):
        assert events == ["up"]
    assert events == ["up", "down"]


def test_a_routes_error_is_answered_in_the_route_so_a_mounts_middleware_sees_it():
    class Stamp:
        def __init__(self, app, name: str) -> None:
            self.app, self.name = app, name

        async def __call__(self, scope, receive, send):
            async def stamped(message):
                if message["type"] == "http.response.start":
                    message["headers"] = [*message["headers"], (f"x-{self.name}".encode(), b"1")]
                await send(message)

            await self.app(scope, receive, stamped)

    def broken(request: Request) -> PlainTextResponse:
        raise ValueError("not handled anywhere")

    app = Starlette(
        routes=[
            Mount(
                "/mount",
                routes=[Route("/err", teapot), Route("/broken", broken)],
                middleware=[Middleware(Stamp, name="mounted")],
            ),
            Route("/err", teapot),
        ],
        middleware=[Middleware(Stamp, name="outer")],
    )
    client = TestClient(app, raise_server_exceptions=False)

    mounted = client.get("/mount/err")
    outer = client.get("/err")
    unhandled = client.get("/mount/broken")

    assert (mounted.status_code, mounted.text) == (418, "short and stout")
    assert mounted.headers["x-mounted"] == "1"
    assert mounted.headers["x-outer"] == "1"
    assert outer.status_code == 418
    assert "x-mounted" not in outer.headers
    # An error without a handler still reaches ServerErrorMiddleware.
    assert (unhandled.status_code, unhandled.text) == (500, "Internal Server Error")
    assert "x-mounted" not in unhandled.headers
