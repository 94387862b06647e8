"""AliasChoices on parameters, and several parameter models in one location, as FastAPI 0.163 reads them."""

from typing import Annotated

import pytest
from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from trioapi import TrioAPI
from trioapi.param_functions import Body, Cookie, Header, Query
from trioapi.testclient import TestClient


def make_body_app() -> TrioAPI:
    app = TrioAPI()

    @app.post("/embedded")
    def embedded(
        value: Annotated[int, Body(embed=True, validation_alias=AliasChoices("first", "second"))],
    ):
        return value

    @app.post("/optional")
    def optional(
        items: Annotated[list[int], Body(default_factory=list)],
        value: Annotated[int | None, Body(validation_alias=AliasChoices("first", "second"))] = 10,
    ):
        return {"value": value, "items": items}

    return app


@pytest.mark.parametrize(
    ("body", "expected"),
    [({"first": 1}, 1), ({"second": 2}, 2), ({"second": 2, "first": 0}, 0)],
)
def test_body_reads_the_first_alias_choice_present(body, expected):
    assert TestClient(make_body_app()).post("/embedded", json=body).json() == expected


def test_body_error_names_the_choice_that_was_sent_or_the_first():
    client = TestClient(make_body_app())
    invalid = client.post("/embedded", json={"second": "x", "other": 1}).json()["detail"]
    assert [(e["type"], e["loc"]) for e in invalid] == [("int_parsing", ["body", "second"])]
    missing = client.post("/embedded", json={"value": 1}).json()["detail"]
    assert [(e["type"], e["loc"]) for e in missing] == [("missing", ["body", "first"])]


def test_body_explicit_null_is_a_value_not_a_missing_key():
    client = TestClient(make_body_app())
    assert client.post("/optional", json={"first": None, "second": 2}).json() == {
        "value": None,
        "items": [],
    }
    assert client.post("/optional", json={}).json() == {"value": 10, "items": []}
    # With no body at all, every parameter takes its default.
    assert client.post("/optional").json() == {"value": 10, "items": []}
    # A JSON null body is not an object holding the parameters.
    response = client.post(
        "/optional", content="null", headers={"content-type": "application/json"}
    )
    assert [e["loc"] for e in response.json()["detail"]] == [["body", "items"], ["body", "first"]]


def test_query_header_and_cookie_read_the_first_alias_choice_present():
    app = TrioAPI()

    @app.get("/")
    def read(
        q: Annotated[int, Query(validation_alias=AliasChoices("page", "p"))],
        h: Annotated[str, Header(validation_alias=AliasChoices("X-Legacy_Id", "X-Id"))] = "-",
        c: Annotated[str, Cookie(validation_alias=AliasChoices("sid", "legacy"))] = "-",
    ):
        return [q, h, c]

    client = TestClient(app, cookies={"legacy": "c1"})
    assert client.get("/?p=2", headers={"x-legacy_id": "h1"}).json() == [2, "h1", "c1"]
    error = client.get("/?p=x").json()["detail"][0]
    assert (error["type"], error["loc"]) == ("int_parsing", ["query", "p"])


class Filters(BaseModel):
    model_config = ConfigDict(extra="allow")
    term: str


class Pagination(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = 10


def test_each_parameter_model_sees_every_key_of_its_location():
    # A model's own extra policy decides what it does with the keys it does
    # not declare, even those another parameter reads.
    app = TrioAPI()

    @app.get("/")
    def read(
        filters: Annotated[Filters, Query()],
        host: Annotated[str, Query()] = "here",
    ):
        return {"filters": filters, "host": host}

    @app.get("/strict")
    def strict(filters: Annotated[Filters, Query()], pagination: Annotated[Pagination, Query()]):
        return [filters, pagination]

    client = TestClient(app)
    assert client.get("/", params={"term": "a", "host": "h"}).json() == {
        "filters": {"term": "a", "host": "h"},
        "host": "h",
    }
    detail = client.get("/strict", params={"term": "a", "limit": "2"}).json()["detail"]
    assert [(e["type"], e["loc"]) for e in detail] == [("extra_forbidden", ["query", "term"])]


def test_optional_model_is_none_when_none_of_its_keys_is_sent():
    app = TrioAPI()

    class Sort(BaseModel):
        order: str = "asc"

    @app.get("/")
    def read(sort: Annotated[Sort | None, Query()] = None, page: int = 1):
        return {"sort": sort, "page": page}

    client = TestClient(app)
    assert client.get("/", params={"page": "2"}).json() == {"sort": None, "page": 2}
    assert client.get("/", params={"order": "desc"}).json() == {
        "sort": {"order": "desc"},
        "page": 1,
    }


def test_header_model_reports_the_header_name_that_was_read():
    app = TrioAPI()

    class Headers(BaseModel):
        x_id: int
        tags: list[str] = Field(default_factory=list, alias="X-Tags")

    @app.get("/")
    def read(headers: Annotated[Headers, Header()]):
        return headers

    client = TestClient(app)
    assert client.get("/", headers={"x-id": "1", "x-tags": "a"}).json() == {
        "x_id": 1,
        "X-Tags": ["a"],
    }
    error = client.get("/", headers={"x-id": "no"}).json()["detail"][0]
    assert error["loc"] == ["header", "x-id"]
    # The model field's alias does not reach the parameter's schema.
    names = [p["name"] for p in app.openapi()["paths"]["/"]["get"]["parameters"]]
    assert names == ["x-id", "X-Tags"]


def test_hidden_model_hides_its_fields_and_validate_default_validates():
    app = TrioAPI()

    class Hidden(BaseModel):
        secret: str

    @app.get("/")
    def read(
        hidden: Annotated[Hidden, Query(include_in_schema=False)],
        size: Annotated[int, Query(validate_default=True, ge=1)] = 0,
    ):
        return size

    names = [p["name"] for p in app.openapi()["paths"]["/"]["get"]["parameters"]]
    assert names == ["size"]
    error = TestClient(app).get("/", params={"secret": "s"}).json()["detail"][0]
    assert (error["type"], error["loc"]) == ("greater_than_equal", ["query", "size"])
