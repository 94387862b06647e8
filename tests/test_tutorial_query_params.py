"""Tutorial, "Query Parameters" and "Cookie Parameter Models": defaults,
optional and required values, bool conversion, several path and query
parameters together, and a pydantic model for a group of cookies.
"""

from typing import Annotated

import pytest
from pydantic import BaseModel

from trioapi import Cookie, TrioAPI
from trioapi.testclient import TestClient

FAKE_ITEMS = [{"item_name": "Foo"}, {"item_name": "Bar"}, {"item_name": "Baz"}]


class Cookies(BaseModel):
    model_config = {"extra": "forbid"}

    session_id: str
    tracker: str | None = None


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = TrioAPI()

    @app.get("/items")
    async def items(skip: int = 0, limit: int = 10):
        return FAKE_ITEMS[skip : skip + limit]

    @app.get("/users/{user_id}/items/{item_id}")
    async def user_item(
        user_id: int, item_id: str, needy: str, q: str | None = None, short: bool = False
    ):
        return {"user_id": user_id, "item_id": item_id, "needy": needy, "q": q, "short": short}

    @app.get("/cookies")
    async def cookies(cookies: Annotated[Cookies, Cookie()]):
        return cookies

    return TestClient(app)


def test_query_parameters_take_their_defaults_and_are_converted(client):
    assert client.get("/items").json() == FAKE_ITEMS
    assert client.get("/items?skip=1&limit=1").json() == [{"item_name": "Bar"}]


@pytest.mark.parametrize("value", ["1", "True", "true", "on", "yes"])
def test_bool_query_values_that_mean_true(client, value):
    url = f"/users/1/items/a?needy=n&short={value}"
    assert client.get(url).json()["short"] is True


@pytest.mark.parametrize("value", ["0", "False", "false", "off", "no"])
def test_bool_query_values_that_mean_false(client, value):
    url = f"/users/1/items/a?needy=n&short={value}"
    assert client.get(url).json()["short"] is False


def test_path_and_query_parameters_are_told_apart_by_name(client):
    assert client.get("/users/3/items/foo?needy=sooo&q=x").json() == {
        "user_id": 3,
        "item_id": "foo",
        "needy": "sooo",
        "q": "x",
        "short": False,
    }


def test_a_required_query_parameter_is_reported_missing(client):
    response = client.get("/users/3/items/foo")
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {"type": "missing", "loc": ["query", "needy"], "msg": "Field required", "input": None}
        ]
    }


def test_a_cookie_model_reads_its_fields_from_the_cookies(client):
    response = client.get("/cookies", headers={"cookie": "session_id=abc; tracker=t1"})
    assert response.json() == {"session_id": "abc", "tracker": "t1"}


def test_a_cookie_model_with_extra_forbid_reports_unknown_cookies(client):
    response = client.get("/cookies", headers={"cookie": "session_id=abc; other=x"})
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {
                "type": "extra_forbidden",
                "loc": ["cookie", "other"],
                "msg": "Extra inputs are not permitted",
                "input": "x",
            }
        ]
    }
