"""Tutorial, "Path Parameters" and "Path Parameters and Numeric Validations".

Typed path parameters, the order of fixed and parameterised paths, paths
containing slashes, and ``gt``/``ge``/``lt``/``le`` on path and query values.
"""

from enum import StrEnum
from typing import Annotated

import pytest

from trioapi import Path, Query, TrioAPI
from trioapi.testclient import TestClient


class ModelName(StrEnum):
    alexnet = "alexnet"
    lenet = "lenet"


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = TrioAPI()

    @app.get("/users/me")
    async def me():
        return {"user_id": "the current user"}

    @app.get("/users/{user_id}")
    async def user(user_id: str):
        return {"user_id": user_id}

    @app.get("/items/{item_id}")
    async def item(item_id: int):
        return {"item_id": item_id}

    @app.get("/models/{model_name}")
    async def model(model_name: ModelName):
        return {"model_name": model_name, "is_lenet": model_name is ModelName.lenet}

    @app.get("/files/{file_path:path}")
    async def file(file_path: str):
        return {"file_path": file_path}

    @app.get("/ranged/{item_id}")
    async def ranged(
        item_id: Annotated[int, Path(title="The ID", ge=1, le=1000)],
        size: Annotated[float, Query(gt=0, lt=10.5)] = 1.0,
    ):
        return {"item_id": item_id, "size": size}

    return TestClient(app)


def test_a_typed_path_parameter_is_converted(client):
    assert client.get("/items/3").json() == {"item_id": 3}


def test_a_value_of_the_wrong_type_is_a_422_at_path(client):
    response = client.get("/items/foo")
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {
                "type": "int_parsing",
                "loc": ["path", "item_id"],
                "msg": "Input should be a valid integer, unable to parse string as an integer",
                "input": "foo",
            }
        ]
    }


def test_a_fixed_path_declared_first_wins_over_the_parameterised_one(client):
    assert client.get("/users/me").json() == {"user_id": "the current user"}
    assert client.get("/users/alice").json() == {"user_id": "alice"}


def test_an_enum_path_parameter_accepts_only_its_values(client):
    assert client.get("/models/lenet").json() == {"model_name": "lenet", "is_lenet": True}
    response = client.get("/models/resnet")
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {
                "type": "enum",
                "loc": ["path", "model_name"],
                "msg": "Input should be 'alexnet' or 'lenet'",
                "input": "resnet",
                "ctx": {"expected": "'alexnet' or 'lenet'"},
            }
        ]
    }


def test_a_path_parameter_can_hold_a_path(client):
    assert client.get("/files/home/johndoe/myfile.txt").json() == {
        "file_path": "home/johndoe/myfile.txt"
    }
    assert client.get("/files//home/x").json() == {"file_path": "/home/x"}


def test_numeric_bounds_accept_values_inside_them(client):
    assert client.get("/ranged/1000?size=10.4").json() == {"item_id": 1000, "size": 10.4}


@pytest.mark.parametrize(
    ("url", "error"),
    [
        (
            "/ranged/0",
            {
                "type": "greater_than_equal",
                "loc": ["path", "item_id"],
                "msg": "Input should be greater than or equal to 1",
                "input": "0",
                "ctx": {"ge": 1},
            },
        ),
        (
            "/ranged/1001",
            {
                "type": "less_than_equal",
                "loc": ["path", "item_id"],
                "msg": "Input should be less than or equal to 1000",
                "input": "1001",
                "ctx": {"le": 1000},
            },
        ),
        (
            "/ranged/5?size=0",
            {
                "type": "greater_than",
                "loc": ["query", "size"],
                "msg": "Input should be greater than 0",
                "input": "0",
                "ctx": {"gt": 0},
            },
        ),
        (
            "/ranged/5?size=10.5",
            {
                "type": "less_than",
                "loc": ["query", "size"],
                "msg": "Input should be less than 10.5",
                "input": "10.5",
                "ctx": {"lt": 10.5},
            },
        ),
    ],
)
def test_numeric_bounds_report_the_bound_crossed(client, url, error):
    response = client.get(url)
    assert response.status_code == 422
    assert response.json() == {"detail": [error]}
