"""Tutorial, "Response Model", "Extra Models" and "Response Status Code":
filtering output through a model, the ``response_model_*`` options, unions
and lists of models, and the declared status code.
"""

from typing import Any, Literal

import pytest
from pydantic import BaseModel

from trioapi import TrioAPI, status
from trioapi.testclient import TestClient


class UserIn(BaseModel):
    username: str
    password: str
    full_name: str | None = None


class UserOut(BaseModel):
    username: str
    full_name: str | None = None


class Item(BaseModel):
    name: str
    description: str | None = None
    price: float
    tax: float = 10.5
    tags: list[str] = []


class CarItem(BaseModel):
    description: str
    type: Literal["car"] = "car"


class PlaneItem(BaseModel):
    description: str
    type: Literal["plane"] = "plane"
    size: int


ITEMS = {
    "foo": {"name": "Foo", "price": 50.2},
    "bar": {"name": "Bar", "description": "The bartenders", "price": 62, "tax": 20.2},
    "baz": {"name": "Baz", "description": None, "price": 50.2, "tax": 10.5, "tags": []},
}


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = TrioAPI()

    @app.post("/users", status_code=status.HTTP_201_CREATED)
    async def create_user(user: UserIn) -> UserOut:
        return user  # type: ignore[return-value]  # filtered by the annotation

    @app.get("/items/{item_id}", response_model=Item, response_model_exclude_unset=True)
    async def read_item(item_id: str):
        return ITEMS[item_id]

    @app.get("/items/{item_id}/name", response_model=Item, response_model_include={"name"})
    async def read_item_name(item_id: str):
        return ITEMS[item_id]

    @app.get("/items/{item_id}/public", response_model=Item, response_model_exclude={"tax"})
    async def read_item_public(item_id: str):
        return ITEMS[item_id]

    @app.get("/vehicles/{kind}", response_model=PlaneItem | CarItem)
    async def vehicle(kind: str) -> Any:
        if kind == "car":
            return {"description": "All my friends drive a low rider"}
        return {"description": "Music is my aeroplane", "size": 5}

    @app.get("/all-items", response_model=list[Item])
    async def all_items():
        return list(ITEMS.values())

    @app.get("/keyword-weights", response_model=dict[str, float])
    async def keyword_weights():
        return {"foo": 2.3, "bar": "3.4"}

    return TestClient(app)


def test_the_return_annotation_filters_out_the_password_and_the_status_is_kept(client):
    response = client.post("/users", json={"username": "jo", "password": "secret"})
    assert response.status_code == 201
    assert response.json() == {"username": "jo", "full_name": None}


@pytest.mark.parametrize(
    ("item_id", "expected"),
    [
        ("foo", {"name": "Foo", "price": 50.2}),
        ("bar", {"name": "Bar", "description": "The bartenders", "price": 62.0, "tax": 20.2}),
        ("baz", {"name": "Baz", "description": None, "price": 50.2, "tax": 10.5, "tags": []}),
    ],
)
def test_exclude_unset_leaves_out_defaults_that_were_not_set(client, item_id, expected):
    assert client.get(f"/items/{item_id}").json() == expected


def test_include_and_exclude_pick_fields(client):
    assert client.get("/items/bar/name").json() == {"name": "Bar"}
    assert client.get("/items/bar/public").json() == {
        "name": "Bar",
        "description": "The bartenders",
        "price": 62.0,
        "tags": [],
    }


def test_a_union_response_model_answers_with_the_matching_member(client):
    assert client.get("/vehicles/car").json() == {
        "description": "All my friends drive a low rider",
        "type": "car",
    }
    assert client.get("/vehicles/plane").json() == {
        "description": "Music is my aeroplane",
        "type": "plane",
        "size": 5,
    }


def test_list_and_dict_response_models_validate_each_value(client):
    names = [item["name"] for item in client.get("/all-items").json()]
    assert names == ["Foo", "Bar", "Baz"]
    assert client.get("/all-items").json()[0]["tax"] == 10.5
    assert client.get("/keyword-weights").json() == {"foo": 2.3, "bar": 3.4}
