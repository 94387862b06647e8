"""Tutorial, the request-body sections: "Body - Fields", "Body - Nested Models",
"Extra Data Types", "Body - Multiple Parameters" (singular values) and
"Body - Updates" (partial updates with ``exclude_unset``).
"""

from datetime import datetime, time, timedelta
from typing import Annotated
from uuid import UUID

import pytest
from pydantic import BaseModel, Field, HttpUrl

from trioapi import Body, TrioAPI
from trioapi.encoders import jsonable_encoder
from trioapi.testclient import TestClient


class Image(BaseModel):
    url: HttpUrl
    name: str


class Item(BaseModel):
    name: str
    description: str | None = Field(default=None, title="Description", max_length=20)
    price: float = Field(gt=0, description="Must be positive")
    tax: float | None = None
    tags: set[str] = set()
    images: list[Image] | None = None


class User(BaseModel):
    username: str


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = TrioAPI()
    stored = {"foo": {"name": "Foo", "price": 50.2, "tax": 10.5, "tags": []}}

    @app.put("/items/{item_id}")
    async def update(item_id: int, item: Annotated[Item, Body(embed=True)]):
        return {"item_id": item_id, "item": item}

    @app.post("/offers")
    async def offer(
        item: Item,
        user: User,
        importance: Annotated[int, Body(gt=0)],
    ):
        return {"item": item, "user": user, "importance": importance}

    @app.post("/weights")
    async def weights(weights: dict[int, float]):
        return {"sum": sum(weights.values()), "keys": sorted(weights)}

    @app.put("/times/{item_id}")
    async def times(
        item_id: UUID,
        start: Annotated[datetime, Body()],
        end: Annotated[datetime, Body()],
        process_after: Annotated[timedelta, Body()],
        repeat_at: Annotated[time | None, Body()] = None,
    ):
        return {
            "item_id": item_id,
            "start_process": start + process_after,
            "duration": end - start - process_after,
            "repeat_at": repeat_at,
        }

    @app.patch("/stored/{key}")
    async def patch(key: str, item: Item):
        current = Item(**stored[key])
        changed = current.model_copy(update=item.model_dump(exclude_unset=True))
        stored[key] = jsonable_encoder(changed)
        return changed

    return TestClient(app)


def test_an_embedded_body_is_read_under_its_parameter_name(client):
    body = {"item": {"name": "Foo", "price": 3, "tags": ["a", "a", "b"]}}
    response = client.put("/items/5", json=body)
    assert response.status_code == 200
    result = response.json()
    assert sorted(result["item"].pop("tags")) == ["a", "b"]  # a set removes duplicates
    assert result == {
        "item_id": 5,
        "item": {"name": "Foo", "description": None, "price": 3.0, "tax": None, "images": None},
    }


def test_field_constraints_are_reported_inside_the_embedded_body(client):
    body = {"item": {"name": "Foo", "price": 0, "description": "x" * 21}}
    response = client.put("/items/5", json=body)
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {
                "type": "string_too_long",
                "loc": ["body", "item", "description"],
                "msg": "String should have at most 20 characters",
                "input": "x" * 21,
                "ctx": {"max_length": 20},
            },
            {
                "type": "greater_than",
                "loc": ["body", "item", "price"],
                "msg": "Input should be greater than 0",
                "input": 0,
                "ctx": {"gt": 0},
            },
        ]
    }


def test_nested_models_validate_deep_and_report_the_full_location(client):
    good = {"name": "Foo", "price": 1, "images": [{"url": "http://example.com/a.png", "name": "a"}]}
    response = client.put("/items/1", json={"item": good})
    assert response.json()["item"]["images"] == [{"url": "http://example.com/a.png", "name": "a"}]
    bad = {**good, "images": [{"url": "not a url", "name": "a"}]}
    error = client.put("/items/1", json={"item": bad}).json()["detail"][0]
    assert error["loc"] == ["body", "item", "images", 0, "url"]
    assert error["type"] == "url_parsing"


def test_several_bodies_and_a_singular_body_value_are_keys_of_one_object(client):
    body = {"item": {"name": "Foo", "price": 2}, "user": {"username": "dave"}, "importance": 5}
    response = client.post("/offers", json=body)
    assert response.status_code == 200
    assert response.json()["user"] == {"username": "dave"}
    assert response.json()["importance"] == 5
    response = client.post("/offers", json={**body, "importance": 0})
    assert response.json()["detail"] == [
        {
            "type": "greater_than",
            "loc": ["body", "importance"],
            "msg": "Input should be greater than 0",
            "input": 0,
            "ctx": {"gt": 0},
        }
    ]


def test_a_dict_body_converts_its_string_keys_to_ints(client):
    assert client.post("/weights", json={"2": 1.5, "1": 2.5}).json() == {"sum": 4.0, "keys": [1, 2]}
    error = client.post("/weights", json={"x": 1}).json()["detail"][0]
    assert error["loc"] == ["body", "x", "[key]"]
    assert error["type"] == "int_parsing"


def test_extra_data_types_are_parsed_and_encoded_back(client):
    item_id = "12345678-1234-5678-1234-567812345678"
    body = {
        "start": "2024-01-01T10:00:00",
        "end": "2024-01-01T12:30:00",
        "process_after": 3600,
        "repeat_at": "08:30:00",
    }
    assert client.put(f"/times/{item_id}", json=body).json() == {
        "item_id": item_id,
        "start_process": "2024-01-01T11:00:00",
        "duration": 5400.0,
        "repeat_at": "08:30:00",
    }


def test_a_bad_uuid_in_the_path_is_a_422(client):
    body = {"start": "2024-01-01T10:00:00", "end": "2024-01-01T11:00:00", "process_after": 0}
    error = client.put("/times/nope", json=body).json()["detail"][0]
    assert error["loc"] == ["path", "item_id"]
    assert error["type"] == "uuid_parsing"


def test_a_partial_update_changes_only_the_fields_sent(client):
    response = client.patch("/stored/foo", json={"name": "Bar", "price": 3})
    assert response.status_code == 200
    assert response.json() == {
        "name": "Bar",
        "description": None,
        "price": 3.0,
        "tax": 10.5,
        "tags": [],
        "images": None,
    }
