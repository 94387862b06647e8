"""The toolkit's routing: paths and convertors, Route, WebSocketRoute, Mount, Host, Router."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trioapi._routing.paths import DuplicatedParamsError
from trioapi.convertors import Convertor, register_url_convertor
from trioapi.exceptions import TrioAPIError
from trioapi.requests import Request
from trioapi.responses import JSONResponse, PlainTextResponse, Response
from trioapi.routing import Host, Match, Mount, NoMatchFound, Route, Router, WebSocketRoute
from trioapi.testclient import TestClient
from trioapi.types import Receive, Scope, Send
from trioapi.websockets import WebSocket


async def echo_params(request: Request) -> Response:
    return JSONResponse({k: str(v) for k, v in request.path_params.items()})


async def typed_params(request: Request) -> Response:
    return JSONResponse({k: type(v).__name__ for k, v in request.path_params.items()})


def sync_home(request: Request) -> Response:
    return PlainTextResponse(f"home {request.method}")


async def users_root(request: Request) -> Response:
    return PlainTextResponse("users")


async def ws_echo(websocket: WebSocket) -> None:
    await websocket.accept()
    text = await websocket.receive_text()
    await websocket.send_text(f"{websocket.path_params['room']}:{text}")
    await websocket.close()


async def raw_asgi(scope: Scope, receive: Receive, send: Send) -> None:
    body = f"{scope['root_path']}|{scope['path']}".encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


def make_router() -> Router:
    users = Router(
        routes=[
            Route("/", users_root, name="root"),
            Route("/{user_id:int}", echo_params, name="user"),
        ]
    )
    return Router(
        routes=[
            Route("/", sync_home, name="home", methods=["GET", "POST"]),
            Route("/items/{item_id}", echo_params, name="item"),
            Route("/typed/{a:int}/{b:float}/{c:uuid}/{d:path}", typed_params, name="typed"),
            Route("/only-post", echo_params, methods=["POST"]),
            WebSocketRoute("/ws/{room}", ws_echo, name="ws"),
            Mount("/users", app=users, name="users"),
            Mount("/raw", app=raw_asgi, name="raw"),
            Host(
                "{sub}.example.org", app=Router([Route("/here", echo_params, name="sub")]), name="h"
            ),
        ]
    )


def test_str_parameter_matches_one_segment() -> None:
    client = TestClient(make_router())
    assert client.get("/items/abc").json() == {"item_id": "abc"}
    assert client.get("/items/a/b").status_code == 404


def test_convertors_give_typed_values() -> None:
    client = TestClient(make_router())
    value = uuid.uuid4()
    response = client.get(f"/typed/3/1.5/{value}/x/y.txt")
    assert response.json() == {"a": "int", "b": "float", "c": "UUID", "d": "str"}
    assert client.get("/typed/x/1.5/{value}/z").status_code == 404


def test_sync_endpoint_runs_and_get_route_answers_head() -> None:
    client = TestClient(make_router())
    assert client.get("/").text == "home GET"
    head = client.head("/")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == str(len("home HEAD"))


def test_wrong_method_is_405_with_allow() -> None:
    response = TestClient(make_router()).get("/only-post")
    assert response.status_code == 405
    assert response.text == "Method Not Allowed"
    assert response.headers["allow"] == "POST"


def test_unknown_path_is_404_plain_text() -> None:
    response = TestClient(make_router()).get("/nowhere")
    assert response.status_code == 404
    assert response.text == "Not Found"


def test_trailing_slash_redirects_to_the_route_that_exists() -> None:
    client = TestClient(make_router(), follow_redirects=False)
    response = client.get("/items/abc/?q=1")
    assert response.status_code == 307
    assert response.headers["location"] == "http://testserver/items/abc?q=1"
    assert client.get("/users").headers["location"] == "http://testserver/users/"


@pytest.mark.parametrize("root_path", ["/sub", "/sub/"])
def test_a_request_for_the_root_path_itself_is_redirected_to_the_root_route(root_path) -> None:
    router = Router([Route("/", echo_params, name="home")])
    client = TestClient(router, root_path=root_path, follow_redirects=False)
    response = client.get(root_path)
    assert response.status_code == 307
    # The slash is added to the routed path ("" -> "/"), whatever root_path ends with.
    assert response.headers["location"] == f"http://testserver{root_path}/"
    assert TestClient(router, root_path=root_path).get(root_path).status_code == 200


def test_redirect_slashes_can_be_turned_off() -> None:
    router = Router([Route("/a", echo_params)], redirect_slashes=False)
    assert TestClient(router, follow_redirects=False).get("/a/").status_code == 404


def test_mount_serves_sub_router_with_root_path() -> None:
    client = TestClient(make_router())
    assert client.get("/users/").text == "users"
    assert client.get("/users/7").json() == {"user_id": "7"}
    assert client.get("/raw/a/b").text == "/raw|/raw/a/b"


def test_host_matches_subdomain_without_port() -> None:
    client = TestClient(make_router())
    response = client.get("/here", headers={"host": "api.example.org:8080"})
    assert response.json() == {"sub": "api"}


def test_websocket_route_with_path_param() -> None:
    client = TestClient(make_router())
    with client.websocket_connect("/ws/lobby") as websocket:
        websocket.send_text("hi")
        assert websocket.receive_text() == "lobby:hi"


def test_url_path_for_routes_mounts_and_hosts() -> None:
    router = make_router()
    assert router.url_path_for("item", item_id="x") == "/items/x"
    assert router.url_path_for("users:user", user_id=5) == "/users/5"
    assert router.url_path_for("users:root") == "/users/"
    assert router.url_path_for("raw", path="/file.txt") == "/raw/file.txt"
    ws_path = router.url_path_for("ws", room="r1")
    assert (ws_path, ws_path.protocol) == ("/ws/r1", "websocket")
    host_path = router.url_path_for("h:sub", sub="api")
    assert (host_path, host_path.host) == ("/here", "api.example.org")


def test_url_path_for_refuses_unknown_names_and_bad_params() -> None:
    router = make_router()
    with pytest.raises(NoMatchFound, match='No route exists for name "nope"'):
        router.url_path_for("nope")
    with pytest.raises(NoMatchFound, match="item_idx"):
        router.url_path_for("item", item_idx="x")
    with pytest.raises(ValueError, match="must not be negative"):
        router.url_path_for("users:user", user_id=-1)


@pytest.mark.parametrize("value", ["tom/christie", ""])
def test_url_path_for_refuses_str_values_that_are_not_one_segment(value: str) -> None:
    router = Router([Route("/users/{name}", echo_params, name="user")])
    # Starlette asserts here; the error is both a ValueError and an AssertionError.
    with pytest.raises(AssertionError):
        router.url_path_for("user", name=value)
    with pytest.raises(ValueError, match="str path parameter"):
        router.url_path_for("user", name=value)


def test_url_path_for_escapes_a_leading_double_slash_and_backslashes() -> None:
    router = Router([Route("/{path:path}", echo_params, name="catchall")])
    # Unescaped, "//example.org/a" is a link to the host example.org.
    assert router.url_path_for("catchall", path="/example.org/a") == "/%2Fexample.org/a"
    assert router.url_path_for("catchall", path="\\example.org/a") == "/%5Cexample.org/a"
    assert router.url_path_for("catchall", path="a/b") == "/a/b"


def test_url_path_for_does_not_fill_placeholders_inside_values() -> None:
    route = Route("/{category}/{id}", echo_params, name="route")
    assert route.url_path_for("route", category="{id}", id="42") == "/{id}/42"


def test_url_path_for_through_a_mount_keeps_its_missing_params() -> None:
    mount = Mount("/{tenant}", routes=[Route("/users", echo_params, name="users")])
    assert mount.url_path_for("users") == "/{tenant}/users"
    assert mount.url_path_for("users", tenant="acme") == "/acme/users"


def test_url_path_for_a_named_host_needs_exactly_its_params() -> None:
    router = Router(
        [
            Host(
                "api.example.org", Router([Route("/users", echo_params, name="users")]), name="api"
            ),
            Host("port.example.org:3600", Router([Route("/", echo_params, name="home")]), name="p"),
        ]
    )
    api = router.url_path_for("api", path="/users")
    assert (api, api.host) == ("/users", "api.example.org")
    assert router.url_path_for("api:users").make_absolute_url("https://x") == (
        "https://api.example.org/users"
    )
    assert router.url_path_for("p:home").make_absolute_url("https://x") == (
        "https://port.example.org:3600/"
    )
    with pytest.raises(NoMatchFound):
        router.url_path_for("api", path="whatever", foo="bar")


def test_request_url_for_builds_absolute_url() -> None:
    async def link(request: Request) -> Response:
        return PlainTextResponse(str(request.url_for("item", item_id="5")))

    router = Router([Route("/link", link), Route("/items/{item_id}", echo_params, name="item")])
    assert TestClient(router).get("/link").text == "http://testserver/items/5"


class TwoDigits(Convertor[int]):
    regex = "[0-9]{2}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return f"{value:02d}"


def test_user_registered_convertor() -> None:
    register_url_convertor("twodigits", TwoDigits())
    router = Router([Route("/month/{m:twodigits}", typed_params, name="month")])
    client = TestClient(router)
    assert client.get("/month/07").json() == {"m": "int"}
    assert client.get("/month/7").status_code == 404
    assert router.url_path_for("month", m=3) == "/month/03"


def test_bad_paths_are_refused_at_registration() -> None:
    with pytest.raises(TrioAPIError, match="unknown convertor type 'nope'"):
        Route("/x/{a:nope}", echo_params)
    with pytest.raises(DuplicatedParamsError, match="Duplicated param name a at path /x/{a}/{a}"):
        Route("/x/{a}/{a}", echo_params)
    # Starlette's type for this mistake, and every name used twice, once.
    with pytest.raises(ValueError, match="param names a, b at path /{a}/{b}/{a}/{b}/{a}"):
        Route("/{a}/{b}/{a}/{b}/{a}", echo_params)
    with pytest.raises(TrioAPIError, match="must start with '/'"):
        Route("x", echo_params)


def test_partial_match_does_not_hide_a_later_full_match() -> None:
    async def post_only(request: Request) -> Response:
        return PlainTextResponse("post")

    async def get_too(request: Request) -> Response:
        return PlainTextResponse("get")

    router = Router([Route("/x", post_only, methods=["POST"]), Route("/x", get_too)])
    client = TestClient(router)
    assert client.get("/x").text == "get"
    assert client.post("/x").text == "post"


def test_router_runs_startup_and_shutdown_handlers() -> None:
    log: list[str] = []
    router = Router(
        [Route("/", users_root)],
        on_startup=[lambda: log.append("up")],
        on_shutdown=[lambda: log.append("down")],
    )
    with TestClient(router) as client:
        assert client.get("/").text == "users"
        assert log == ["up"]
    assert log == ["up", "down"]


@given(st.text(max_size=60))
def test_arbitrary_paths_never_crash_the_router(path: str) -> None:
    router = make_router()
    scope: dict[str, Any] = {"type": "http", "method": "GET", "path": "/" + path}
    for route in router.routes:
        route.matches(scope)


def test_literal_route_lookup_keeps_declaration_order() -> None:
    async def by_id(request: Request) -> Response:
        return PlainTextResponse("by id")

    async def me(request: Request) -> Response:
        return PlainTextResponse("me")

    pattern_first = Router([Route("/users/{user_id}", by_id), Route("/users/me", me)])
    literal_first = Router([Route("/users/me", me), Route("/users/{user_id}", by_id)])
    assert TestClient(pattern_first).get("/users/me").text == "by id"
    assert TestClient(literal_first).get("/users/me").text == "me"
    assert TestClient(literal_first).get("/users/7").text == "by id"


def test_a_literal_path_tries_only_the_pattern_routes_that_can_match_it() -> None:
    tried: list[str] = []

    class CountingRoute(Route):
        def matches(self, scope: Scope) -> tuple[Match, Scope]:
            tried.append(self.path)
            return super().matches(scope)

    async def answer(request: Request) -> Response:
        return PlainTextResponse(request.url.path)

    router = Router(
        [
            CountingRoute("/items/{item_id}", answer),
            CountingRoute("/{name}", answer),
            CountingRoute("/health", answer),
        ]
    )
    client = TestClient(router)
    assert client.get("/health").text == "/health"
    # "/items/{item_id}" can never match "/health": not tried; "/{name}" can, and wins.
    assert tried == ["/{name}"]


def test_routes_added_after_the_first_request_are_found() -> None:
    router = Router([Route("/a", users_root)])
    client = TestClient(router)
    assert client.get("/b").status_code == 404
    router.add_route("/b", users_root)
    assert client.get("/b").text == "users"


def test_405_allow_lists_the_methods_of_every_route_on_the_path() -> None:
    async def read(request: Request) -> Response:
        return PlainTextResponse("read")

    async def write(request: Request) -> Response:
        return PlainTextResponse("write")

    router = Router([Route("/x", read), Route("/x", write, methods=["POST", "PUT"])])
    response = TestClient(router).delete("/x")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, POST, PUT"


def test_405_from_typed_routes_sharing_a_path_lists_both_methods() -> None:
    from trioapi import TrioAPI

    app = TrioAPI()

    @app.get("/notes")
    async def list_notes() -> list[str]:
        return []

    @app.post("/notes")
    async def create_note() -> str:
        return "made"

    response = TestClient(app).put("/notes")
    assert response.status_code == 405
    assert response.json() == {"detail": "Method Not Allowed"}
    assert response.headers["allow"] == "GET, POST"


def test_mount_and_host_reprs_and_router_equality():
    from trioapi.routing import Host, Mount, Route, Router

    def home(request):
        raise NotImplementedError

    inner = Router(routes=[Route("/", home)])

    assert repr(Mount("/app", app=inner)).startswith("Mount(path='/app', name='', app=")
    assert repr(Host("example.com", app=inner, name="site")).startswith(
        "Host(host='example.com', name='site', app="
    )
    assert Router(routes=[Route("/", home)]) == inner
    assert Router(routes=[Route("/other", home)]) != inner
    assert Mount("/app", routes=[Route("/", home)]) == Mount("/app", routes=[Route("/", home)])
    assert len({inner, Router(routes=[Route("/", home)])}) == 2  # hashed by identity


def test_uuid_convertor_accepts_the_forms_without_dashes():
    import uuid

    from trioapi.responses import PlainTextResponse
    from trioapi.routing import Route, Router
    from trioapi.testclient import TestClient

    def show(request):
        assert isinstance(request.path_params["id"], uuid.UUID)
        return PlainTextResponse(str(request.path_params["id"]))

    client = TestClient(Router(routes=[Route("/{id:uuid}", show)]))

    for form in ("00000000-aaaa-ffff-9999-000000000000", "00000000AAAAFFFF9999000000000000"):
        assert client.get(f"/{form}").text == "00000000-aaaa-ffff-9999-000000000000"
    assert client.get("/not-a-uuid").status_code == 404
