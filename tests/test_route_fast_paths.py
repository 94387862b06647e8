"""The per-request shortcuts of routing and responses do what the general paths do."""

from __future__ import annotations

from typing import Any

import pytest

from trioapi.applications import TrioAPI
from trioapi.background import BackgroundTask
from trioapi.exceptions import ResponseValidationError
from trioapi.param_functions import Depends
from trioapi.requests import Request
from trioapi.responses import JSONResponse, PlainTextResponse, Response
from trioapi.routing import APIRoute, Match, Mount, Route, Router
from trioapi.testclient import TestClient
from trioapi.types import Scope

# --- an endpoint without parameters (served without a Request or a solution) ----------


def test_a_parameterless_endpoints_response_validation_error_names_the_endpoint() -> None:
    app = TrioAPI()

    @app.get("/broken")
    async def broken() -> int:
        return "not a number"  # type: ignore[return-value]

    with TestClient(app) as client, pytest.raises(ResponseValidationError) as caught:
        client.get("/broken")
    assert caught.value.endpoint_ctx is not None
    assert caught.value.endpoint_ctx["function"] == "broken"
    assert caught.value.endpoint_ctx["path"] == "GET /broken"


def test_a_parameterless_endpoints_returned_response_runs_its_background_task() -> None:
    app = TrioAPI()
    ran: list[str] = []

    @app.get("/done")
    async def done() -> Response:
        return PlainTextResponse("ok", background=BackgroundTask(ran.append, "task"))

    with TestClient(app) as client:
        response = client.get("/done")
    assert (response.status_code, response.text) == (200, "ok")
    assert ran == ["task"]


def test_a_dependency_added_to_a_parameterless_route_runs() -> None:
    app = TrioAPI()
    calls: list[str] = []

    @app.get("/plain")
    async def plain() -> dict[str, str]:
        return {"ok": "yes"}

    with TestClient(app) as client:
        assert client.get("/plain").json() == {"ok": "yes"}
        route = app.routes[-1]
        route.add_dependency(Depends(lambda: calls.append("dependency")))  # type: ignore[attr-defined]
        assert client.get("/plain").json() == {"ok": "yes"}
    assert calls == ["dependency"]


def test_a_parameterless_route_with_a_route_dependency_overridden_runs_the_override() -> None:
    app = TrioAPI()
    calls: list[str] = []

    def original() -> None:
        calls.append("original")

    @app.get("/plain", dependencies=[Depends(original)])
    async def plain() -> str:
        return "ok"

    app.dependency_overrides[original] = lambda: calls.append("override")
    with TestClient(app) as client:
        assert client.get("/plain").json() == "ok"
    assert calls == ["override"]


def test_a_parameterless_endpoint_with_a_status_code_and_class_answers_with_them() -> None:
    app = TrioAPI()

    @app.get("/created", status_code=201, response_class=PlainTextResponse)
    async def created() -> str:
        return "made"

    @app.get("/empty", status_code=204)
    async def empty() -> None:
        return None

    with TestClient(app) as client:
        made = client.get("/created")
        empty_response = client.get("/empty")
    assert (made.status_code, made.text) == (201, "made")
    assert made.headers["content-type"] == "text/plain; charset=utf-8"
    assert (empty_response.status_code, empty_response.content) == (204, b"")
    assert "content-length" not in empty_response.headers


class ShoutingResponse(PlainTextResponse):
    def render(self, content: object) -> bytes:
        return str(content).upper().encode()


def test_a_parameterless_endpoint_is_answered_with_exact_headers_or_by_its_own_class() -> None:
    app = TrioAPI()

    @app.get("/json")
    async def json_message() -> dict[str, str]:
        return {"message": "Hello, World!"}

    @app.get("/shout", response_class=ShoutingResponse)
    async def shout() -> str:
        return "quiet"

    @app.get("/numbers", response_class=ShoutingResponse)
    async def numbers() -> list[int]:
        return [1, 2]

    with TestClient(app) as client:
        message = client.get("/json")
        shouted = client.get("/shout")
        listed = client.get("/numbers")
    assert message.content == b'{"message":"Hello, World!"}'
    assert [(k, v) for k, v in message.headers.items() if k.startswith("content")] == [
        ("content-length", "27"),
        ("content-type", "application/json"),
    ]
    assert (shouted.text, shouted.headers["content-type"]) == ("QUIET", "text/plain; charset=utf-8")
    assert listed.text == "[1, 2]"


# --- the app's two error layers, run as one -----------------------------------------


class Teapot(Exception):
    pass


def _erring_app() -> TrioAPI:
    app = TrioAPI()

    @app.exception_handler(Teapot)
    async def teapot(request: Request, exc: Exception) -> Response:
        return PlainTextResponse("teapot", status_code=418)

    @app.exception_handler(KeyError)
    async def broken_handler(request: Request, exc: Exception) -> Response:
        raise RuntimeError("the handler broke")

    @app.exception_handler(500)
    async def server_error(request: Request, exc: Exception) -> Response:
        return PlainTextResponse(f"500: {exc!r}", status_code=500)

    @app.get("/teapot")
    async def raise_teapot() -> None:
        raise Teapot

    @app.get("/key")
    async def raise_key() -> None:
        raise KeyError("k")

    @app.get("/value")
    async def raise_value() -> None:
        raise ValueError("v")

    return app


def test_a_handled_error_is_answered_by_its_handler() -> None:
    with TestClient(_erring_app()) as client:
        response = client.get("/teapot")
    assert (response.status_code, response.text) == (418, "teapot")


def test_an_unhandled_error_gets_the_500_handler_and_is_raised_again() -> None:
    with TestClient(_erring_app()) as client:
        with pytest.raises(ValueError, match="v"):
            client.get("/value")
    with TestClient(_erring_app(), raise_server_exceptions=False) as client:
        response = client.get("/value")
    assert (response.status_code, response.text) == (500, "500: ValueError('v')")


def test_an_error_in_an_exception_handler_reaches_the_500_handler() -> None:
    with TestClient(_erring_app(), raise_server_exceptions=False) as client:
        response = client.get("/key")
    assert (response.status_code, response.text) == (
        500,
        "500: RuntimeError('the handler broke')",
    )


def test_a_handled_error_after_the_response_started_is_a_runtime_error() -> None:
    app = TrioAPI()
    error = Teapot()

    @app.exception_handler(Teapot)
    async def teapot(request: Request, exc: Exception) -> Response:
        return PlainTextResponse("teapot", status_code=418)

    class StartedThenRaises:  # an ASGI app, not a request -> response function
        async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
            await send({"type": "http.response.start", "status": 200, "headers": []})
            raise error

    app.router.routes.append(Route("/started", StartedThenRaises()))
    with TestClient(app) as client:
        with pytest.raises(RuntimeError, match="response already started") as caught:
            client.get("/started")
    assert caught.value.__cause__ is error


# --- a literal path served without matching ------------------------------------------


def _describe(request: Request) -> JSONResponse:
    route = request.scope["route"]
    return JSONResponse(
        {
            "route": route.path,
            "endpoint": request.scope["endpoint"].__name__,
            "path_params": request.path_params,
        }
    )


async def first(request: Request) -> JSONResponse:
    return _describe(request)


async def second(request: Request) -> JSONResponse:
    return _describe(request)


def test_a_literal_route_sets_route_endpoint_and_a_fresh_path_params() -> None:
    client = TestClient(Router([Route("/a", first)]))
    assert client.get("/a").json() == {"route": "/a", "endpoint": "first", "path_params": {}}
    assert client.head("/a").status_code == 200  # a GET route answers HEAD


def test_a_pattern_route_registered_before_a_literal_one_still_wins() -> None:
    client = TestClient(Router([Route("/items/{name}", first), Route("/items/me", second)]))
    assert client.get("/items/me").json()["endpoint"] == "first"


def test_another_method_reaches_the_next_route_for_the_same_path() -> None:
    client = TestClient(
        Router([Route("/a", first, methods=["GET"]), Route("/a", second, methods=["POST"])])
    )
    assert client.post("/a").json()["endpoint"] == "second"
    response = client.put("/a")
    assert (response.status_code, response.headers["allow"]) == (405, "GET, HEAD, POST")


def test_a_mounts_path_params_reach_a_literal_route_inside_it() -> None:
    client = TestClient(Router([Mount("/org/{org}", routes=[Route("/a", first)])]))
    assert client.get("/org/acme/a").json()["path_params"] == {"org": "acme"}


def test_a_replaced_route_list_of_the_same_length_is_served() -> None:
    router = Router([Route("/a", first)])
    client = TestClient(router)
    assert client.get("/a").json()["endpoint"] == "first"
    router.routes = [Route("/a", second)]
    assert client.get("/a").json()["endpoint"] == "second"


def test_changed_methods_of_a_route_are_followed() -> None:
    route = Route("/a", first, methods=["GET"])
    client = TestClient(Router([route]))
    assert client.get("/a").status_code == 200
    route.methods = {"POST"}
    assert client.get("/a").status_code == 405


def test_a_pattern_route_gets_its_converted_params_and_the_mounts() -> None:
    client = TestClient(
        Router([Mount("/org/{org}", routes=[Route("/items/{item_id:int}", first)])])
    )
    assert client.get("/org/acme/items/7").json()["path_params"] == {"org": "acme", "item_id": 7}
    assert TestClient(Router([Route("/items/{item_id:int}", first)])).get("/items/7").json() == {
        "route": "/items/{item_id:int}",
        "endpoint": "first",
        "path_params": {"item_id": 7},
    }


def test_a_later_pattern_route_with_the_method_wins_over_an_earlier_path_only_match() -> None:
    client = TestClient(
        Router(
            [
                Route("/items/{name}", first, methods=["GET"]),
                Route("/items/{other}", second, methods=["POST"]),
            ]
        )
    )
    assert client.post("/items/x").json() == {
        "route": "/items/{other}",
        "endpoint": "second",
        "path_params": {"other": "x"},
    }
    response = client.delete("/items/x")
    assert (response.status_code, response.headers["allow"]) == (405, "GET, HEAD, POST")


def test_a_mount_before_a_pattern_route_is_asked_first() -> None:
    inner = Router([Route("/{rest}", second)])
    client = TestClient(Router([Mount("/items", app=inner), Route("/items/{name}", first)]))
    assert client.get("/items/x").json()["endpoint"] == "second"


class _RefusingRoute(APIRoute):
    def matches(self, scope: Scope) -> tuple[Match, dict[str, Any]]:
        return Match.NONE, {}


class _OwnHandleRoute(Route):
    async def handle(self, scope: Scope, receive: Any, send: Any) -> None:
        await PlainTextResponse("own handle")(scope, receive, send)


def test_a_route_class_with_its_own_matches_or_handle_is_asked() -> None:
    app = TrioAPI()

    async def hello() -> str:
        return "hello"

    app.router.routes.append(_RefusingRoute("/refused", hello))
    app.router.routes.append(_OwnHandleRoute("/own", first))
    app.router.routes.append(_RefusingRoute("/refused/{name}", hello))
    app.router.routes.append(_OwnHandleRoute("/own/{name}", first))
    with TestClient(app) as client:
        assert client.get("/refused").status_code == 404
        assert client.get("/own").text == "own handle"
        assert client.get("/refused/x").status_code == 404
        assert client.get("/own/x").text == "own handle"


# --- Response headers ---------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 1023, 1024, 70000])
def test_content_length_is_the_body_length_for_small_and_large_bodies(size: int) -> None:
    response = Response(b"x" * size, media_type="application/octet-stream")
    assert response.raw_headers == [
        (b"content-length", str(size).encode()),
        (b"content-type", b"application/octet-stream"),
    ]


def test_given_headers_keep_their_content_type_and_length() -> None:
    response = PlainTextResponse("hi", headers={"Content-Type": "text/x-own", "X-A": "1"})
    assert response.raw_headers == [
        (b"content-type", b"text/x-own"),
        (b"x-a", b"1"),
        (b"content-length", b"2"),
    ]
