"""Tutorial, "Query Parameters and String Validations": lengths, patterns, aliases, lists.

Each app reproduces the documented behaviour with its exact 422 bodies.
"""

from typing import Annotated

import pytest

from trioapi import Query, TrioAPI
from trioapi.testclient import TestClient


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = TrioAPI()

    @app.get("/search")
    async def search(
        q: Annotated[str | None, Query(min_length=3, max_length=8, pattern="^sea")] = None,
    ):
        return {"q": q}

    @app.get("/required")
    async def required(q: Annotated[str, Query(min_length=2)]):
        return {"q": q}

    @app.get("/required-or-none")
    async def required_or_none(q: Annotated[str | None, Query()]):
        return {"q": q}

    @app.get("/tags")
    async def tags(tag: Annotated[list[str], Query()] = ["a", "b"]):  # noqa: B006  # a default
        return {"tag": tag}

    @app.get("/optional-tags")
    async def optional_tags(tag: Annotated[list[str] | None, Query()] = None):
        return {"tag": tag}

    @app.get("/aliased")
    async def aliased(item_query: Annotated[str | None, Query(alias="item-query")] = None):
        return {"item_query": item_query}

    @app.get("/hidden")
    async def hidden(secret: Annotated[str | None, Query(include_in_schema=False)] = None):
        return {"secret": secret}

    return TestClient(app)


def test_an_optional_query_parameter_defaults_to_none(client):
    assert client.get("/search").json() == {"q": None}
    assert client.get("/search?q=seaside").json() == {"q": "seaside"}


def test_a_too_short_value_reports_min_length_with_its_ctx(client):
    response = client.get("/search?q=se")
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {
                "type": "string_too_short",
                "loc": ["query", "q"],
                "msg": "String should have at least 3 characters",
                "input": "se",
                "ctx": {"min_length": 3},
            }
        ]
    }


def test_a_too_long_value_reports_max_length(client):
    response = client.get("/search?q=seashells!")
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "type": "string_too_long",
            "loc": ["query", "q"],
            "msg": "String should have at most 8 characters",
            "input": "seashells!",
            "ctx": {"max_length": 8},
        }
    ]


def test_a_value_not_matching_the_pattern_is_reported_with_the_pattern(client):
    response = client.get("/search?q=nope")
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "type": "string_pattern_mismatch",
            "loc": ["query", "q"],
            "msg": "String should match pattern '^sea'",
            "input": "nope",
            "ctx": {"pattern": "^sea"},
        }
    ]


def test_a_required_parameter_without_default_is_missing(client):
    assert client.get("/required?q=ok").json() == {"q": "ok"}
    assert client.get("/required").json() == {
        "detail": [
            {"type": "missing", "loc": ["query", "q"], "msg": "Field required", "input": None}
        ]
    }


def test_a_parameter_that_may_be_none_can_still_be_required(client):
    assert client.get("/required-or-none?q=x").json() == {"q": "x"}
    response = client.get("/required-or-none")
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "missing"


def test_a_list_parameter_reads_every_value_or_takes_its_default(client):
    assert client.get("/tags?tag=x&tag=y").json() == {"tag": ["x", "y"]}
    assert client.get("/tags").json() == {"tag": ["a", "b"]}
    assert client.get("/optional-tags").json() == {"tag": None}
    assert client.get("/optional-tags?tag=one").json() == {"tag": ["one"]}


def test_an_alias_is_the_name_read_from_the_url(client):
    assert client.get("/aliased?item-query=x").json() == {"item_query": "x"}
    assert client.get("/aliased?item_query=x").json() == {"item_query": None}


def test_a_parameter_left_out_of_the_schema_still_works(client):
    assert client.get("/hidden?secret=s").json() == {"secret": "s"}
    schema = client.get("/openapi.json").json()
    assert "parameters" not in schema["paths"]["/hidden"]["get"]
