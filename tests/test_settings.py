"""The request settings as one value: ``Limits``, its merge, its sentinel, its two spellings."""

from __future__ import annotations

import ast
import copy
import dataclasses
import pickle
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

import trioapi
from tests.serving import run_hypercorn
from trioapi import APIRouter, Limits, Request, TrioAPI, WebSocket
from trioapi._scopes import get_request_context
from trioapi._settings import DEFAULT_LIMITS, LIMIT_NAMES, NOT_GIVEN, LimitOptions
from trioapi.testclient import TestClient

# -- the value and its sentinel -----------------------------------------------------


def test_a_new_limits_value_gives_no_setting():
    limits = Limits()
    assert limits.is_empty
    assert limits.given() == {}
    assert all(getattr(limits, name) is NOT_GIVEN for name in LIMIT_NAMES)


def test_none_is_a_setting_not_the_sentinel():
    assert Limits(timeout=None, max_body_size=None).given() == {
        "timeout": None,
        "max_body_size": None,
    }


def test_the_sentinel_is_one_object_through_copies_and_pickles():
    assert repr(NOT_GIVEN) == "NOT_GIVEN"
    assert copy.deepcopy(NOT_GIVEN) is NOT_GIVEN
    assert pickle.loads(pickle.dumps(NOT_GIVEN)) is NOT_GIVEN
    assert pickle.loads(pickle.dumps(Limits(timeout=3))) == Limits(timeout=3)


def test_a_limits_value_cannot_be_changed():
    limits = Limits(timeout=3)
    with pytest.raises(dataclasses.FrozenInstanceError, match="timeout"):
        limits.timeout = 4  # type: ignore[misc]


def test_merge_replaces_only_the_settings_the_inner_value_gives():
    outer = Limits(timeout=1, max_body_size=10)
    merged = outer.merge(Limits(max_body_size=None, send_timeout=7))
    assert merged == Limits(timeout=1, max_body_size=None, send_timeout=7)
    assert outer.merge(Limits()) is outer


def test_the_defaults_give_every_setting_and_every_setting_is_a_keyword():
    # The three declarations of _settings.py stay in step: a setting added
    # to Limits without its keyword or its default fails here.
    assert set(DEFAULT_LIMITS.given()) == set(LIMIT_NAMES)
    assert set(LimitOptions.__annotations__) == {"limits", *LIMIT_NAMES}


@pytest.mark.parametrize(
    "make",
    [
        lambda: APIRouter(timeot=3),
        lambda: APIRouter().include_router(APIRouter(), timeot=3),
        lambda: APIRouter().add_api_route("/", lambda: None, timeot=3),
    ],
    ids=["router", "include", "route"],
)
def test_a_misspelt_setting_is_refused_where_it_is_given(make: Any):
    with pytest.raises(TypeError, match="unexpected keyword argument 'timeot'"):
        make()


def test_an_unknown_app_keyword_is_kept_in_extra_as_fastapi_does():
    app = TrioAPI(timeot=3, timeout=4)
    assert (app.extra, app.request_limits.timeout) == ({"timeot": 3}, 4)


def test_limits_must_be_a_limits_value():
    with pytest.raises(TypeError, match=r"APIRouter\(limits=...\) takes a trioapi.Limits"):
        APIRouter(limits={"timeout": 3})  # type: ignore[typeddict-item]


# -- app <- include_router <- router <- route, for every setting ----------------------

# Four values per setting, each different from the one before it: what the
# app, an include_router() call, the included router and the route give.
_BOOLEANS = (True, False, True, False)
_NUMBERS = (11, 22, 33, 44)
LEVEL_VALUES = {
    name: _BOOLEANS if isinstance(getattr(DEFAULT_LIMITS, name), bool) else _NUMBERS
    for name in LIMIT_NAMES
}


async def report_limits(request: Request) -> dict[str, Any]:
    """The settings this request runs under."""
    context = get_request_context(request.scope)
    assert context is not None
    return {name: getattr(context.limits, name) for name in LIMIT_NAMES}


def settings(name: str, value: Any, spelling: str) -> dict[str, Any]:
    """One setting as keyword options, spelt as a keyword or as a ``limits=`` value."""
    if spelling == "keyword":
        return {name: value}
    return {"limits": Limits(**{name: value})}


def build_levels_app(name: str, spelling: str) -> TrioAPI:
    """Routes where the setting is given by the app only, then also by each inner level."""
    app_value, include_value, router_value, route_value = LEVEL_VALUES[name]
    app = TrioAPI(**settings(name, app_value, spelling))
    plain = APIRouter()
    plain.add_api_route("/app", report_limits)
    app.include_router(plain)
    included = APIRouter()
    included.add_api_route("/include", report_limits)
    app.include_router(included, **settings(name, include_value, spelling))
    own = APIRouter(**settings(name, router_value, spelling))
    own.add_api_route("/router", report_limits)
    own.add_api_route("/route", report_limits, **settings(name, route_value, spelling))
    app.include_router(own, **settings(name, include_value, spelling))
    return app


@pytest.mark.parametrize("name", LIMIT_NAMES)
def test_the_innermost_level_that_gives_a_setting_wins(name: str):
    app_value, include_value, router_value, route_value = LEVEL_VALUES[name]
    with TestClient(build_levels_app(name, "keyword")) as client:
        seen = {
            path: client.get(f"/{path}").json() for path in ["app", "include", "router", "route"]
        }
    assert {path: values[name] for path, values in seen.items()} == {
        "app": app_value,
        "include": include_value,
        "router": router_value,
        "route": route_value,
    }
    # Every other setting stays the default, at every level.
    others = {key: getattr(DEFAULT_LIMITS, key) for key in LIMIT_NAMES if key != name}
    for values in seen.values():
        assert {key: value for key, value in values.items() if key != name} == others


@pytest.mark.parametrize("name", LIMIT_NAMES)
def test_a_limits_value_equals_the_keyword_arguments(name: str):
    keyword_app = build_levels_app(name, "keyword")
    value_app = build_levels_app(name, "limits")
    assert keyword_app.request_limits == value_app.request_limits
    assert [getattr(route, "limits", None) for route in keyword_app.routes] == [
        getattr(route, "limits", None) for route in value_app.routes
    ]
    with TestClient(keyword_app) as keywords, TestClient(value_app) as values:
        for path in ["/app", "/include", "/router", "/route"]:
            assert keywords.get(path).json() == values.get(path).json()


def test_keywords_beside_a_limits_value_replace_its_settings():
    router = APIRouter(limits=Limits(timeout=1, max_body_size=10), timeout=2)
    assert router.limits == Limits(timeout=2, max_body_size=10)
    app = TrioAPI(limits=Limits(send_timeout=5), max_json_depth=3)
    assert app.request_limits == DEFAULT_LIMITS.merge(Limits(send_timeout=5, max_json_depth=3))


def test_a_route_keeps_its_merged_settings_and_each_as_an_attribute():
    app = TrioAPI(timeout=1)
    router = APIRouter(timeout=2, max_body_size=10)
    router.add_api_route("/r", report_limits, max_body_size=20)
    app.include_router(router, send_timeout=3)
    route = app.routes[-1]
    # The app's own setting is not in the route's value: it is applied per request.
    assert route.limits == Limits(timeout=2, max_body_size=20, send_timeout=3)
    assert (route.timeout, route.max_body_size, route.body_timeout) == (2, 20, NOT_GIVEN)


def test_an_app_setting_changed_after_a_request_reaches_routes_with_their_own():
    app = TrioAPI()
    app.add_api_route("/own", report_limits, timeout=5)
    app.add_api_route("/plain", report_limits)
    with TestClient(app) as client:
        before = client.get("/own").json()
        app.max_json_depth = 3
        own, plain = client.get("/own").json(), client.get("/plain").json()
    assert (before["max_json_depth"], before["timeout"]) == (64, 5)
    assert (own["max_json_depth"], own["timeout"]) == (3, 5)
    assert (plain["max_json_depth"], plain["timeout"]) == (3, None)
    assert app.request_limits.max_json_depth == app.max_json_depth == 3


def test_replacing_the_app_value_replaces_each_attribute():
    app = TrioAPI()
    app.request_limits = DEFAULT_LIMITS.merge(Limits(strict_content_type=False))
    assert app.strict_content_type is False
    assert app.timeout is None


def test_a_subclass_may_set_a_setting_before_the_app_is_built():
    class SlowApp(TrioAPI):
        def __init__(self) -> None:
            self.note = "before"
            self.timeout = 99  # replaced by the app's value below, as any attribute would be
            super().__init__(timeout=7)

    app = SlowApp()
    assert (app.timeout, app.request_limits.timeout) == (7, 7)


def test_no_module_reads_a_setting_off_the_app_by_name():
    # Settings are read from the request's value (context.limits), never
    # looked up on scope["app"] per request with getattr(app, "<name>", default).
    found = []
    for path in Path(trioapi.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "getattr"
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
                and node.args[1].value in LIMIT_NAMES
            ):
                found.append(f"{path.name}:{node.lineno}")
    assert found == []


def test_a_websocket_runs_under_the_app_settings():
    app = TrioAPI(concurrent_dependencies=False)
    seen: list[Any] = []

    @app.websocket("/ws")
    async def socket(websocket: WebSocket) -> None:
        context = get_request_context(websocket.scope)
        seen.append(context.limits.concurrent_dependencies if context else "no context")
        await websocket.accept()
        await websocket.close()

    with TestClient(app) as client, client.websocket_connect("/ws"):
        pass
    assert seen == [False]


# -- through a real server -------------------------------------------------------------


class Item(BaseModel):
    a: int


async def test_router_settings_hold_through_real_hypercorn():
    async def echo(item: Item) -> Item:
        return item

    lenient = APIRouter(strict_content_type=False, max_body_size=100)
    lenient.add_api_route("/lenient", echo, methods=["POST"])
    strict = APIRouter()
    strict.add_api_route("/strict", echo, methods=["POST"])
    app = TrioAPI(max_body_size=1000)
    app.include_router(lenient)
    app.include_router(strict)
    body = b'{"a": 1}'
    large = b'{"a": 2, "pad": "' + b"x" * 200 + b'"}'
    json_type = {"content-type": "application/json"}
    async with run_hypercorn(app) as url, httpx.AsyncClient(base_url=url) as client:
        lenient_untyped = await client.post("/lenient", content=body)
        strict_untyped = await client.post("/strict", content=body)
        lenient_large = await client.post("/lenient", content=large, headers=json_type)
        strict_large = await client.post("/strict", content=large, headers=json_type)
    assert (lenient_untyped.status_code, lenient_untyped.json()) == (200, {"a": 1})
    assert strict_untyped.status_code == 422
    assert strict_untyped.json()["detail"][0]["type"] == "model_attributes_type"
    assert (lenient_large.status_code, lenient_large.json()) == (
        413,
        {"detail": "Request body is too large"},
    )
    assert (strict_large.status_code, strict_large.json()) == (200, {"a": 2})
