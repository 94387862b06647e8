"""The 422 bodies, byte for byte FastAPI's: every error collected, in FastAPI's order."""

from typing import Annotated

import pytest
from pydantic import BaseModel, Field

from trioapi.applications import TrioAPI
from trioapi.param_functions import Body, Depends, Header, Path, Query
from trioapi.testclient import TestClient


class Item(BaseModel):
    name: str
    price: float
    tags: list[str] = []


class User(BaseModel):
    username: str


def make_app() -> TrioAPI:
    app = TrioAPI()

    @app.get("/items/{item_id}")
    async def read_item(
        item_id: Annotated[int, Path(gt=0)],
        q: Annotated[str, Query(min_length=3)],
        size: float | None = None,
    ):
        return {"item_id": item_id}

    @app.post("/items")
    async def create_item(item: Item):
        return item

    @app.put("/items/{item_id}")
    async def update_item(
        item_id: int, item: Item, user: User, importance: Annotated[int, Body(gt=0)]
    ):
        return {"item_id": item_id, "item": item, "user": user, "importance": importance}

    @app.post("/embedded")
    async def embedded(item: Annotated[Item, Body(embed=True)]):
        return item

    @app.post("/optional")
    async def optional(item: Item | None = None):
        return item

    return app


@pytest.fixture
def client() -> TestClient:
    return TestClient(make_app())


def test_every_path_and_query_error_is_reported_together(client):
    response = client.get("/items/0?q=ab&size=big")
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {
                "type": "greater_than",
                "loc": ["path", "item_id"],
                "msg": "Input should be greater than 0",
                "input": "0",
                "ctx": {"gt": 0},
            },
            {
                "type": "string_too_short",
                "loc": ["query", "q"],
                "msg": "String should have at least 3 characters",
                "input": "ab",
                "ctx": {"min_length": 3},
            },
            {
                "type": "float_parsing",
                "loc": ["query", "size"],
                "msg": "Input should be a valid number, unable to parse string as a number",
                "input": "big",
            },
        ]
    }


def test_missing_required_query_parameter(client):
    response = client.get("/items/3")
    assert response.json() == {
        "detail": [
            {"type": "missing", "loc": ["query", "q"], "msg": "Field required", "input": None}
        ]
    }


def test_missing_body_is_located_at_body(client):
    response = client.post("/items")
    assert response.status_code == 422
    assert response.json() == {
        "detail": [{"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}]
    }


def test_json_null_body_is_the_value_none_not_missing(client):
    # FastAPI 0.163: only an empty body is missing; JSON null is validated as None.
    response = client.post("/items", content=b"null", headers={"content-type": "application/json"})
    assert response.json() == {
        "detail": [
            {
                "type": "model_attributes_type",
                "loc": ["body"],
                "msg": "Input should be a valid dictionary or object to extract fields from",
                "input": None,
            }
        ]
    }
    empty = client.post("/items", content=b"", headers={"content-type": "application/json"})
    assert empty.json() == {
        "detail": [{"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}]
    }


def test_json_null_for_an_optional_body_with_a_default_is_none():
    app = TrioAPI()

    @app.post("/")
    def read_value(value: Annotated[int | None, Body()] = 10):
        return value

    client = TestClient(app)
    json_headers = {"content-type": "application/json"}
    assert client.post("/", content=b"null", headers=json_headers).json() is None
    assert client.post("/", content=b"", headers=json_headers).json() == 10
    assert client.post("/", content=b"5", headers=json_headers).json() == 5


def test_optional_body_may_be_left_out(client):
    response = client.post("/optional")
    assert response.status_code == 200
    assert response.json() is None


def test_invalid_fields_of_a_single_body_model_are_located_under_body(client):
    response = client.post("/items", json={"name": "x", "price": "cheap", "tags": [1]})
    assert response.json() == {
        "detail": [
            {
                "type": "float_parsing",
                "loc": ["body", "price"],
                "msg": "Input should be a valid number, unable to parse string as a number",
                "input": "cheap",
            },
            {
                "type": "string_type",
                "loc": ["body", "tags", 0],
                "msg": "Input should be a valid string",
                "input": 1,
            },
        ]
    }


def test_a_body_that_is_not_an_object_is_reported_as_pydantic_does_for_python_input(client):
    response = client.post("/items", json=[1, 2])
    assert response.json() == {
        "detail": [
            {
                "type": "model_attributes_type",
                "loc": ["body"],
                "msg": "Input should be a valid dictionary or object to extract fields from",
                "input": [1, 2],
            }
        ]
    }


def test_malformed_json_is_a_json_invalid_error_at_its_position(client):
    response = client.post(
        "/items", content=b'{"name": "x",', headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {
                "type": "json_invalid",
                "loc": ["body", 13],
                "msg": "JSON decode error",
                "input": {},
                "ctx": {"error": "Expecting property name enclosed in double quotes"},
            }
        ]
    }


def test_body_without_json_content_type_is_not_parsed_as_json(client):
    response = client.post("/items", content=b'{"name": "x", "price": 1}')
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "model_attributes_type"


def test_json_subtypes_are_parsed_as_json(client):
    response = client.post(
        "/items",
        content=b'{"name": "x", "price": 1}',
        headers={"content-type": "application/vnd.api+json; charset=utf-8"},
    )
    assert response.status_code == 200
    assert response.json() == {"name": "x", "price": 1.0, "tags": []}


def test_several_body_parameters_are_embedded_and_validated_each_under_its_name(client):
    response = client.put("/items/5", json={"item": {"name": "x", "price": 2}, "importance": 0})
    assert response.json() == {
        "detail": [
            {"type": "missing", "loc": ["body", "user"], "msg": "Field required", "input": None},
            {
                "type": "greater_than",
                "loc": ["body", "importance"],
                "msg": "Input should be greater than 0",
                "input": 0,
                "ctx": {"gt": 0},
            },
        ]
    }
    ok = client.put(
        "/items/5",
        json={"item": {"name": "x", "price": 2}, "user": {"username": "u"}, "importance": 1},
    )
    assert ok.json() == {
        "item_id": 5,
        "item": {"name": "x", "price": 2.0, "tags": []},
        "user": {"username": "u"},
        "importance": 1,
    }


def test_embedded_body_reports_a_missing_key(client):
    response = client.post("/embedded", json={"name": "x", "price": 1})
    assert response.json() == {
        "detail": [
            {"type": "missing", "loc": ["body", "item"], "msg": "Field required", "input": None}
        ]
    }
    assert client.post("/embedded", json={"item": {"name": "x", "price": 1}}).status_code == 200


def test_embedded_body_that_is_a_list_reports_each_parameter_missing(client):
    response = client.put("/items/5", json=[1])
    assert [error["loc"] for error in response.json()["detail"]] == [
        ["body", "item"],
        ["body", "user"],
        ["body", "importance"],
    ]


def test_errors_of_dependencies_come_before_the_endpoints_own():
    app = TrioAPI()

    async def verify_token(x_token: Annotated[str, Header()]):
        return x_token

    async def verify_key(x_key: Annotated[str, Header()]):
        return x_key

    @app.get("/items", dependencies=[Depends(verify_token), Depends(verify_key)])
    async def items(limit: int):
        return limit

    response = TestClient(app).get("/items")
    assert response.json() == {
        "detail": [
            {
                "type": "missing",
                "loc": ["header", "x-token"],
                "msg": "Field required",
                "input": None,
            },
            {"type": "missing", "loc": ["header", "x-key"], "msg": "Field required", "input": None},
            {"type": "missing", "loc": ["query", "limit"], "msg": "Field required", "input": None},
        ]
    }


def test_a_failing_cached_dependency_reports_its_errors_each_time_it_is_needed():
    app = TrioAPI()

    def common(q: int):
        return q

    @app.get("/items")
    def items(a: Annotated[int, Depends(common)], b: Annotated[int, Depends(common)]):
        return [a, b]

    error = {
        "type": "int_parsing",
        "loc": ["query", "q"],
        "msg": "Input should be a valid integer, unable to parse string as an integer",
        "input": "x",
    }
    assert TestClient(app).get("/items?q=x").json() == {"detail": [error, error]}


def test_custom_validator_errors_carry_an_encoded_ctx():
    app = TrioAPI()

    class Payload(BaseModel):
        value: Annotated[int, Field(multiple_of=5)]

    @app.post("/")
    async def endpoint(payload: Payload):
        return payload

    response = TestClient(app).post("/", json={"value": 7})
    assert response.json() == {
        "detail": [
            {
                "type": "multiple_of",
                "loc": ["body", "value"],
                "msg": "Input should be a multiple of 5",
                "input": 7,
                "ctx": {"multiple_of": 5},
            }
        ]
    }


def test_websocket_and_mounted_validation_errors_name_their_route():
    # As FastAPI: a WebSocket route is named "WS /path", and a mounted
    # sub-app's route carries the mount path.
    from trioapi.exceptions import RequestValidationError, WebSocketRequestValidationError
    from trioapi.websockets import WebSocket

    app, sub = TrioAPI(), TrioAPI()
    seen: list[Exception] = []

    async def record(connection, exc):
        seen.append(exc)
        raise exc

    for handled in (app, sub):
        handled.add_exception_handler(RequestValidationError, record)
        handled.add_exception_handler(WebSocketRequestValidationError, record)

    @app.websocket("/ws/{n}")
    async def socket(websocket: WebSocket, n: int):
        await websocket.accept()

    @sub.get("/items/{n}")
    def sub_item(n: int):
        return n

    app.mount("/sub", sub)
    client = TestClient(app)
    with pytest.raises(WebSocketRequestValidationError), client.websocket_connect("/ws/x"):
        pass
    # The sub-app's error middleware answers 500 first; the outer app then sees
    # a response already started (as with Starlette).
    with pytest.raises(RuntimeError, match="response already started"):
        client.get("/sub/items/x")
    paths = [(exc.endpoint_function, exc.endpoint_path) for exc in seen]  # type: ignore[attr-defined]
    assert paths == [("socket", "WS /ws/{n}"), ("sub_item", "GET /sub/items/{n}")]
    assert str(seen[0]).endswith("in socket\n    WS /ws/{n}")
