"""APIRouter: registering typed routes, include_router's merging rules, nested lifespans."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from pydantic import BaseModel

from trioapi._routing.unique_id import generate_unique_id
from trioapi.exceptions import TrioAPIError
from trioapi.params import Depends
from trioapi.requests import Request
from trioapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from trioapi.routing import APIRoute, APIRouter, APIWebSocketRoute, Mount, Route, WebSocketRoute


class Item(BaseModel):
    name: str


def dep_a() -> None:
    pass


def dep_b() -> None:
    pass


def dep_c() -> None:
    pass


def dep_d() -> None:
    pass


def read_item(item_id: str) -> dict[str, str]:
    return {"item_id": item_id}


def only_api_routes(router: APIRouter) -> list[APIRoute]:
    return [route for route in router.routes if isinstance(route, APIRoute)]


def the_route(router: APIRouter, path: str) -> APIRoute:
    [route] = [r for r in only_api_routes(router) if r.path == path]
    return route


# -- registering -----------------------------------------------------------------


def test_each_verb_decorator_registers_its_method_and_returns_the_function() -> None:
    router = APIRouter()
    verbs = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]
    for verb in verbs:
        decorated = getattr(router, verb)(f"/{verb}")(read_item)
        assert decorated is read_item
    assert [(r.path, r.methods) for r in only_api_routes(router)] == [
        (f"/{verb}", {verb.upper()}) for verb in verbs
    ]


def test_api_route_takes_several_methods_and_add_api_route_is_its_plain_form() -> None:
    router = APIRouter()
    router.api_route("/a", methods=["GET", "POST"])(read_item)
    router.add_api_route("/b", read_item, methods=["PATCH"], name="patch_b")
    a, b = only_api_routes(router)
    assert a.methods == {"GET", "POST"}
    assert (b.methods, b.name) == ({"PATCH"}, "patch_b")


def test_router_settings_are_merged_into_each_route_router_first() -> None:
    router = APIRouter(
        prefix="/items",
        tags=["items"],
        dependencies=[Depends(dep_a)],
        responses={404: {"description": "Not found"}, 418: {"description": "router"}},
        deprecated=True,
        include_in_schema=False,
    )
    router.get(
        "/{item_id}",
        tags=["read"],
        dependencies=[Depends(dep_b)],
        responses={418: {"description": "route"}},
    )(read_item)
    route = the_route(router, "/items/{item_id}")
    assert route.tags == ["items", "read"]
    assert [d.dependency for d in route.dependencies] == [dep_a, dep_b]
    assert route.responses == {
        404: {"description": "Not found"},
        418: {"description": "route"},
    }
    assert route.deprecated is True
    assert route.include_in_schema is False
    assert route.unique_id == "read_item_items__item_id__get"


def test_default_response_class_applies_unless_the_route_sets_one() -> None:
    router = APIRouter(default_response_class=HTMLResponse)
    router.get("/html")(read_item)
    router.get("/text", response_class=PlainTextResponse)(read_item)
    assert the_route(router, "/html").response_class is HTMLResponse
    assert the_route(router, "/text").response_class is PlainTextResponse


def test_custom_unique_id_function_of_the_router_is_used() -> None:
    router = APIRouter(generate_unique_id_function=lambda route: f"op-{route.name}")
    router.get("/x")(read_item)
    router.get("/y", generate_unique_id_function=lambda route: "own")(read_item)
    router.get("/z", operation_id="explicit")(read_item)
    ids = [route.unique_id for route in only_api_routes(router)]
    assert ids == ["op-read_item", "own", "explicit"]


def test_websocket_routes_get_the_prefix_and_dependencies() -> None:
    router = APIRouter(prefix="/ws", dependencies=[Depends(dep_a)])

    @router.websocket("/echo", dependencies=[Depends(dep_b)])
    async def echo(websocket: Any) -> None:
        pass

    [route] = router.routes
    assert isinstance(route, APIWebSocketRoute)
    assert route.path == "/ws/echo"
    assert route.name == "echo"
    assert [d.dependency for d in route.dependencies] == [dep_a, dep_b]


def test_plain_route_decorators_pass_through() -> None:
    router = APIRouter()

    @router.route("/plain", methods=["POST"], name="plain")
    async def plain(request: Any) -> Response:
        return PlainTextResponse("ok")

    @router.websocket_route("/raw")
    async def raw(websocket: Any) -> None:
        pass

    route, ws_route = router.routes
    assert isinstance(route, Route) and route.path == "/plain" and route.name == "plain"
    assert "POST" in (route.methods or set())
    assert isinstance(ws_route, WebSocketRoute) and ws_route.path == "/raw"


# -- prefixes ----------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["items", "/items/", "/"])
def test_malformed_router_prefix_is_refused(prefix: str) -> None:
    with pytest.raises(TrioAPIError, match=r"APIRouter\(prefix=\.\.\.\): the prefix"):
        APIRouter(prefix=prefix)


def test_malformed_include_prefix_is_refused_with_a_fix() -> None:
    app_router, router = APIRouter(), APIRouter()
    router.get("/x")(read_item)
    with pytest.raises(TrioAPIError, match=r"must start with '/'. Use '/api'"):
        app_router.include_router(router, prefix="api")
    with pytest.raises(TrioAPIError, match=r"must not end with '/'.* Use '/api'"):
        app_router.include_router(router, prefix="/api/")


def test_prefixes_nest_parent_then_include_then_router_then_path() -> None:
    inner = APIRouter(prefix="/items")
    inner.get("/{item_id}")(read_item)
    middle = APIRouter(prefix="/v1")
    middle.include_router(inner, prefix="/shop")
    outer = APIRouter(prefix="/api")
    outer.include_router(middle, prefix="/public")
    assert [r.path for r in only_api_routes(outer)] == ["/api/public/v1/shop/items/{item_id}"]
    assert the_route(outer, "/api/public/v1/shop/items/{item_id}").unique_id == (
        "read_item_api_public_v1_shop_items__item_id__get"
    )


def test_empty_prefix_and_empty_path_are_refused() -> None:
    router = APIRouter()
    router.get("")(read_item)
    with pytest.raises(TrioAPIError, match=r"cannot both be empty \(path operation: read_item\)"):
        APIRouter().include_router(router)
    parent = APIRouter()
    parent.include_router(router, prefix="/root")
    assert [r.path for r in only_api_routes(parent)] == ["/root"]


def test_a_router_cannot_include_itself() -> None:
    router = APIRouter()
    with pytest.raises(TrioAPIError, match="cannot include itself") as caught:
        router.include_router(router)
    # FastAPI asserts this; its message comes first so ported tests match it.
    assert isinstance(caught.value, AssertionError)
    assert str(caught.value).startswith("Cannot include the same APIRouter instance into itself.")


# -- include_router merging --------------------------------------------------------


def build_nested() -> APIRouter:
    sub = APIRouter(tags=["sub"], dependencies=[Depends(dep_c)], responses={1: {"d": "sub"}})
    sub.get("/x", tags=["route"], dependencies=[Depends(dep_d)], responses={2: {"d": "r"}})(
        read_item
    )
    parent = APIRouter(tags=["parent"], dependencies=[Depends(dep_a)], responses={1: {"d": "p"}})
    parent.include_router(
        sub,
        prefix="/sub",
        tags=["include"],
        dependencies=[Depends(dep_b)],
        responses={2: {"d": "include"}, 3: {"d": "include"}},
    )
    return parent


def test_include_merges_tags_and_dependencies_parent_first() -> None:
    route = the_route(build_nested(), "/sub/x")
    assert route.tags == ["parent", "include", "sub", "route"]
    assert [d.dependency for d in route.dependencies] == [dep_a, dep_b, dep_c, dep_d]


def test_include_merges_responses_innermost_winning() -> None:
    route = the_route(build_nested(), "/sub/x")
    assert route.responses == {1: {"d": "sub"}, 2: {"d": "r"}, 3: {"d": "include"}}


def test_included_routes_keep_their_own_options() -> None:
    sub = APIRouter()
    sub.post(
        "/items",
        response_model=Item,
        status_code=201,
        summary="Make",
        description="Makes one.",
        response_description="Made",
        operation_id="make_item",
        response_model_exclude_none=True,
        name="make",
        openapi_extra={"x-a": 1},
    )(read_item)
    parent = APIRouter()
    parent.include_router(sub)
    route = the_route(parent, "/items")
    assert route.response_model is Item
    assert route.status_code == 201
    assert (route.summary, route.description) == ("Make", "Makes one.")
    assert route.response_description == "Made"
    assert (route.operation_id, route.unique_id, route.name) == ("make_item", "make_item", "make")
    assert route.response_model_exclude_none is True
    assert route.openapi_extra == {"x-a": 1}
    assert route.methods == {"POST"}


def test_response_class_is_the_first_given_route_router_include_parent() -> None:
    def routes_with(
        route_class: Any = None, router_class: Any = None, include_class: Any = None
    ) -> type[Response]:
        sub = APIRouter(**({"default_response_class": router_class} if router_class else {}))
        sub.get("/x", **({"response_class": route_class} if route_class else {}))(read_item)
        parent = APIRouter(default_response_class=HTMLResponse)
        extra = {"default_response_class": include_class} if include_class else {}
        parent.include_router(sub, **extra)
        response_class = the_route(parent, "/x").response_class
        assert isinstance(response_class, type)
        return response_class

    assert routes_with(PlainTextResponse, JSONResponse, Response) is PlainTextResponse
    assert routes_with(None, PlainTextResponse, Response) is PlainTextResponse
    assert routes_with(None, None, PlainTextResponse) is PlainTextResponse
    assert routes_with() is HTMLResponse


def test_unique_id_function_is_the_first_given_route_router_include_parent() -> None:
    sub = APIRouter(generate_unique_id_function=lambda route: "sub-router")
    sub.get("/a")(read_item)
    sub.get("/b", generate_unique_id_function=lambda route: "route")(read_item)
    plain = APIRouter()
    plain.get("/c")(read_item)
    parent = APIRouter(generate_unique_id_function=lambda route: f"parent-{route.path}")
    parent.include_router(sub, generate_unique_id_function=lambda route: "include")
    parent.include_router(plain, prefix="/p")
    other = APIRouter()
    other.include_router(plain, generate_unique_id_function=lambda route: "include")
    ids = {route.path: route.unique_id for route in only_api_routes(parent)}
    assert ids == {"/a": "sub-router", "/b": "route", "/p/c": "parent-/p/c"}
    assert the_route(other, "/c").unique_id == "include"


def test_deprecated_and_include_in_schema_combine() -> None:
    sub = APIRouter()
    sub.get("/a")(read_item)
    sub.get("/b", deprecated=True, include_in_schema=False)(read_item)
    parent = APIRouter()
    parent.include_router(sub, prefix="/hidden", deprecated=True, include_in_schema=False)
    parent.include_router(sub, prefix="/shown")
    flags = {r.path: (r.deprecated, r.include_in_schema) for r in only_api_routes(parent)}
    assert flags == {
        "/hidden/a": (True, False),
        "/hidden/b": (True, False),
        "/shown/a": (None, True),
        "/shown/b": (True, False),
    }


def test_default_unique_id_is_recomputed_with_the_full_path() -> None:
    sub = APIRouter(prefix="/items")
    sub.get("/{item_id}")(read_item)
    parent = APIRouter()
    parent.include_router(sub, prefix="/api")
    route = the_route(parent, "/api/items/{item_id}")
    assert route.unique_id == "read_item_api_items__item_id__get"
    assert generate_unique_id(route) == route.unique_id


def test_plain_routes_websockets_and_mounts_are_included_under_the_prefix() -> None:
    async def endpoint(request: Any) -> Response:
        return PlainTextResponse("ok")

    async def ws_endpoint(websocket: Any) -> None:
        pass

    async def asgi_app(scope: Any, receive: Any, send: Any) -> None:
        pass

    sub = APIRouter(dependencies=[Depends(dep_b)])
    sub.add_route("/plain", endpoint, methods=["GET"], name="plain")
    sub.add_websocket_route("/raw", ws_endpoint, name="raw")
    sub.add_api_websocket_route("/typed", ws_endpoint, name="typed")
    sub.mount("/static", app=asgi_app, name="static")
    parent = APIRouter(prefix="/api", dependencies=[Depends(dep_a)])
    parent.include_router(sub, prefix="/v1")
    plain, raw, typed, mount = parent.routes
    assert isinstance(plain, Route) and (plain.path, plain.name) == ("/api/v1/plain", "plain")
    assert isinstance(raw, WebSocketRoute) and raw.path == "/api/v1/raw"
    assert isinstance(typed, APIWebSocketRoute) and typed.path == "/api/v1/typed"
    assert [d.dependency for d in typed.dependencies] == [dep_a, dep_b]
    assert isinstance(mount, Mount) and (mount.path, mount.name) == ("/api/v1/static", "static")


def test_routes_added_after_including_are_not_copied() -> None:
    sub = APIRouter()
    sub.get("/before")(read_item)
    parent = APIRouter()
    parent.include_router(sub)
    sub.get("/after")(read_item)
    assert [r.path for r in only_api_routes(parent)] == ["/before"]


def test_route_class_of_the_router_and_of_included_routes_is_kept() -> None:
    class TimedRoute(APIRoute):
        pass

    sub = APIRouter(route_class=TimedRoute)
    sub.get("/t")(read_item)
    parent = APIRouter()
    parent.include_router(sub)
    parent.get("/plain")(read_item)
    assert [type(r) for r in only_api_routes(parent)] == [TimedRoute, APIRoute]


# -- lifespans ------------------------------------------------------------------------


def logging_lifespan(log: list[str], name: str, state: dict[str, Any] | None) -> Any:
    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[dict[str, Any] | None]:
        log.append(f"{name} start")
        yield state
        log.append(f"{name} stop")

    return lifespan


async def test_included_lifespans_nest_inside_the_parents_and_states_merge_parent_first() -> None:
    log: list[str] = []
    sub = APIRouter(lifespan=logging_lifespan(log, "sub", {"sub": 1, "shared": "sub"}))
    router = APIRouter(lifespan=logging_lifespan(log, "router", {"router": 1, "shared": "router"}))
    router.include_router(sub)
    app = APIRouter(lifespan=logging_lifespan(log, "app", {"app": 1}))
    app.include_router(router)
    async with app.lifespan_context(object()) as state:
        log.append("serving")
    assert state == {"app": 1, "router": 1, "sub": 1, "shared": "router"}
    assert log == [
        "app start",
        "router start",
        "sub start",
        "serving",
        "sub stop",
        "router stop",
        "app stop",
    ]


async def test_lifespans_that_yield_nothing_merge_to_none() -> None:
    log: list[str] = []
    router = APIRouter(lifespan=logging_lifespan(log, "router", None))
    app = APIRouter(lifespan=logging_lifespan(log, "app", None))
    app.include_router(router)
    async with app.lifespan_context(object()) as state:
        assert state is None
    mixed = APIRouter(lifespan=logging_lifespan(log, "mixed", {"m": True}))
    app.include_router(mixed)
    async with app.lifespan_context(object()) as state:
        assert state == {"m": True}


async def test_lifespan_receives_the_app() -> None:
    seen: list[Any] = []

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        seen.append(app)
        yield

    app_object = object()
    async with APIRouter(lifespan=lifespan).lifespan_context(app_object):
        pass
    assert seen == [app_object]


async def test_generator_functions_are_accepted_as_lifespans() -> None:
    log: list[str] = []

    async def async_gen(app: Any) -> AsyncIterator[dict[str, int]]:
        log.append("async start")
        yield {"a": 1}
        log.append("async stop")

    def sync_gen(app: Any) -> Iterator[dict[str, int]]:
        log.append("sync start")
        yield {"s": 1}
        log.append("sync stop")

    app = APIRouter(lifespan=async_gen)
    app.include_router(APIRouter(lifespan=sync_gen))
    async with app.lifespan_context(None) as state:
        assert state == {"a": 1, "s": 1}
    assert log == ["async start", "sync start", "sync stop", "async stop"]


async def test_startup_and_shutdown_handlers_of_nested_routers_run_once_each() -> None:
    log: list[str] = []

    def handler(text: str) -> Any:
        def run() -> None:
            log.append(text)

        return run

    async def async_shutdown() -> None:
        log.append("app async stop")

    sub = APIRouter(on_startup=[handler("sub start")], on_shutdown=[handler("sub stop")])
    router = APIRouter(on_startup=[handler("router start")])
    router.add_event_handler("shutdown", handler("router stop"))
    router.include_router(sub)
    app = APIRouter(on_startup=[handler("app start")], on_shutdown=[async_shutdown])
    app.include_router(router)
    async with app.lifespan_context(None) as state:
        assert state is None
        log.append("serving")
    assert log == [
        "app start",
        "router start",
        "sub start",
        "serving",
        "app async stop",
        "router stop",
        "sub stop",
    ]
    assert len(app.on_startup) == 3
    assert len(app.on_shutdown) == 3


async def test_handlers_of_included_routers_run_under_a_custom_parent_lifespan() -> None:
    log: list[str] = []
    router = APIRouter(on_startup=[lambda: log.append("router start")])
    app = APIRouter(lifespan=logging_lifespan(log, "app", {"k": 1}))
    app.include_router(router)
    async with app.lifespan_context(None) as state:
        assert state == {"k": 1}
    assert log == ["app start", "router start", "app stop"]


async def test_a_hand_set_lifespan_context_stays_the_outer_layer_after_including() -> None:
    log: list[str] = []
    app = APIRouter()
    app.lifespan_context = logging_lifespan(log, "manual", {"manual": True})
    app.include_router(APIRouter(lifespan=logging_lifespan(log, "router", {"r": 1})))
    async with app.lifespan_context(None) as state:
        assert state == {"manual": True, "r": 1}
    assert log == ["manual start", "router start", "router stop", "manual stop"]


def test_on_event_is_deprecated_but_registers_the_handler() -> None:
    router = APIRouter()
    with pytest.warns(DeprecationWarning, match="on_event is deprecated"):
        decorator = router.on_event("startup")

    def startup() -> None:
        pass

    assert decorator(startup) is startup
    assert router.on_startup == [startup]


def test_unknown_event_type_is_refused() -> None:
    with pytest.raises(ValueError, match="Unknown event type 'boot'"):
        APIRouter().add_event_handler("boot", lambda: None)


def test_lifespan_must_be_callable() -> None:
    with pytest.raises(TypeError, match="lifespan= must be a callable"):
        APIRouter(lifespan="nope")  # type: ignore[arg-type]


# -- end to end ---------------------------------------------------------------------


def test_included_route_answers_and_runs_dependencies_parent_first() -> None:
    from trioapi import TrioAPI
    from trioapi.testclient import TestClient

    calls: list[str] = []

    def record(name: str) -> Any:
        def dependency() -> None:
            calls.append(name)

        return dependency

    sub = APIRouter(prefix="/items", dependencies=[Depends(record("router"))])

    @sub.get("/{item_id}", dependencies=[Depends(record("route"))], response_model=Item)
    async def get_item(item_id: str) -> dict[str, str]:
        calls.append("endpoint")
        return {"name": item_id, "extra": "dropped"}

    app = TrioAPI(dependencies=[Depends(record("app"))])
    app.include_router(sub, prefix="/api", dependencies=[Depends(record("include"))])
    with TestClient(app) as client:
        response = client.get("/api/items/foo")
        missing = client.get("/items/foo")
    assert response.status_code == 200
    assert response.json() == {"name": "foo"}
    assert calls == ["app", "include", "router", "route", "endpoint"]
    assert missing.status_code == 404


def test_app_lifespan_state_includes_the_routers_state() -> None:
    from trioapi import TrioAPI
    from trioapi.testclient import TestClient

    log: list[str] = []
    router = APIRouter(lifespan=logging_lifespan(log, "router", {"router": "yes"}))

    @router.get("/state")
    async def read_state(request: Request) -> dict[str, Any]:
        return {"app": request.state.app, "router": request.state.router}

    app = TrioAPI(lifespan=logging_lifespan(log, "app", {"app": "yes"}))
    app.include_router(router)
    with TestClient(app) as client:
        assert client.get("/state").json() == {"app": "yes", "router": "yes"}
    assert log == ["app start", "router start", "router stop", "app stop"]
