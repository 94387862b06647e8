"""Parameter declarations and how path, query, header and cookie values reach an endpoint."""

from enum import StrEnum
from typing import Annotated

import pytest
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, Json
from pydantic_core import PydanticUndefined

from trioapi import params
from trioapi.applications import TrioAPI
from trioapi.dependencies.analysis import InvalidParameterTypeError
from trioapi.exceptions import TrioAPIDeprecationWarning, TrioAPIError
from trioapi.param_functions import Cookie, Depends, Header, Path, Query
from trioapi.routing import APIRouter
from trioapi.testclient import TestClient

# --- the declaration objects ----------------------------------------------------


def test_query_is_a_pydantic_field_info_that_remembers_its_location_and_constraints():
    q = Query(3, ge=1, alias="page-number", title="Page", description="Which page")
    assert isinstance(q, params.Query)
    assert q.in_ is params.ParamTypes.query
    assert q.default == 3
    assert q.alias == "page-number"
    assert q.title == "Page"
    assert q.description == "Which page"
    assert q.include_in_schema is True
    assert repr(q) == "Query(3)"


def test_options_not_given_are_not_recorded_as_set():
    q = params.Query()
    assert q.default is PydanticUndefined
    assert q.is_required()
    assert set(q._attributes_set) <= {"default"}


def test_path_is_always_required_and_rejects_a_default():
    assert Path().is_required()
    with pytest.raises(TrioAPIError, match="path parameters are always required"):
        Path(3)


def test_header_converts_underscores_unless_told_not_to():
    assert Header().convert_underscores is True
    assert Header(None, convert_underscores=False).convert_underscores is False


def test_body_form_and_file_carry_their_media_types():
    assert params.Body().media_type == "application/json"
    assert params.Body(embed=True).embed is True
    assert params.Form().media_type == "application/x-www-form-urlencoded"
    assert params.File().media_type == "multipart/form-data"
    assert isinstance(params.File(), params.Form)


def test_deprecated_regex_still_works_and_warns():
    # FastAPI's category: a UserWarning subclass, which Python shows by default.
    with pytest.warns(TrioAPIDeprecationWarning, match="`regex` has been deprecated"):
        q = Query(regex="^a")
    assert q.metadata[0].pattern == "^a"


def test_deprecated_example_warns():
    with pytest.warns(TrioAPIDeprecationWarning, match="`example` has been deprecated"):
        q = Query(example="x")
    assert q.example == "x"


def test_depends_and_security_are_frozen_dataclasses():
    def dep():
        return 1

    d = params.Depends(dep, use_cache=False, scope="function")
    assert (d.dependency, d.use_cache, d.scope) == (dep, False, "function")
    s = params.Security(dep, scopes=["a"])
    assert s.scopes == ["a"]
    assert isinstance(s, params.Depends)
    with pytest.raises(AttributeError):
        d.use_cache = True  # type: ignore[misc]


# --- reading values from the request ---------------------------------------------


class Color(StrEnum):
    red = "red"
    blue = "blue"


def make_app() -> TrioAPI:
    app = TrioAPI()

    @app.get("/items/{item_id}")
    async def read_item(item_id: int, q: str | None = None, short: bool = False):
        return {"item_id": item_id, "q": q, "short": short}

    @app.get("/colors/{color}")
    def read_color(color: Color):
        return {"color": color}

    @app.get("/search")
    async def search(
        q: Annotated[list[str] | None, Query(alias="item-query")] = None,
        page: Annotated[int, Query(ge=1)] = 1,
    ):
        return {"q": q, "page": page}

    @app.get("/headers")
    async def headers(
        user_agent: Annotated[str | None, Header()] = None,
        x_token: Annotated[list[str] | None, Header()] = None,
        strange_header: Annotated[str | None, Header(convert_underscores=False)] = None,
    ):
        return {"user_agent": user_agent, "x_token": x_token, "strange_header": strange_header}

    @app.get("/cookies")
    async def cookies(ads_id: Annotated[str | None, Cookie()] = None):
        return {"ads_id": ads_id}

    return app


@pytest.fixture
def client() -> TestClient:
    return TestClient(make_app())


def test_path_and_query_values_are_converted_to_their_types(client):
    response = client.get("/items/42?q=hi&short=yes")
    assert response.status_code == 200
    assert response.json() == {"item_id": 42, "q": "hi", "short": True}


def test_missing_optional_query_values_take_their_defaults(client):
    assert client.get("/items/1").json() == {"item_id": 1, "q": None, "short": False}


def test_enum_path_parameter(client):
    assert client.get("/colors/red").json() == {"color": "red"}


def test_list_query_parameter_reads_every_value_under_its_alias(client):
    response = client.get("/search?item-query=a&item-query=b&page=2")
    assert response.json() == {"q": ["a", "b"], "page": 2}
    assert client.get("/search").json() == {"q": None, "page": 1}


def test_headers_are_read_with_dashes_and_repeated_headers_as_a_list(client):
    response = client.get(
        "/headers",
        headers=[
            ("User-Agent", "tester"),
            ("X-Token", "a"),
            ("X-Token", "b"),
            ("strange_header", "s"),
        ],
    )
    assert response.json() == {"user_agent": "tester", "x_token": ["a", "b"], "strange_header": "s"}


def test_cookie_parameter(client):
    client.cookies.set("ads_id", "abc")
    response = client.get("/cookies")
    assert response.json() == {"ads_id": "abc"}


def test_missing_plain_parameters_get_their_defaults_fresh_validated_or_made():
    app = TrioAPI()
    made: list[int] = []

    def next_number() -> int:
        made.append(len(made))
        return made[-1]

    @app.get("/defaults")
    async def defaults(
        made_one: Annotated[int, Query(default_factory=next_number)],
        color: Color = Color.blue,
        validated: Annotated[int, Query(validate_default=True)] = "7",  # type: ignore[assignment]
        agent: Annotated[str | None, Header()] = None,
    ):
        return {
            "color": color,
            "validated": validated,
            "type": type(validated).__name__,
            "made": made_one,
            "agent": agent,
        }

    client = TestClient(app)
    first = client.get("/defaults", headers={"x-agent": "x"}).json()
    assert first == {
        "color": "blue",
        "validated": 7,
        "type": "int",
        "made": 0,
        "agent": None,
    }
    assert client.get("/defaults").json()["made"] == 1  # the factory runs for each request


def test_invalid_plain_parameters_are_each_reported_in_declaration_order(client):
    response = client.get("/items/x?short=maybe&q=ok")
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {
                "type": "int_parsing",
                "loc": ["path", "item_id"],
                "msg": "Input should be a valid integer, unable to parse string as an integer",
                "input": "x",
            },
            {
                "type": "bool_parsing",
                "loc": ["query", "short"],
                "msg": "Input should be a valid boolean, unable to interpret input",
                "input": "maybe",
            },
        ]
    }


# --- parameter models ------------------------------------------------------------


class FilterParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(100, gt=0, le=100)
    offset: int = 0
    tags: list[str] = []


class CommonHeaders(BaseModel):
    host: str
    save_data: bool
    x_tag: list[str] = []


def make_model_app() -> TrioAPI:
    app = TrioAPI()

    @app.get("/items")
    async def items(filters: Annotated[FilterParams, Query()]):
        return filters

    @app.get("/headers")
    async def headers(h: Annotated[CommonHeaders, Header()]):
        return h

    return app


def test_query_parameter_model_reads_its_fields_from_the_query_string():
    client = TestClient(make_model_app())
    response = client.get("/items?limit=5&tags=a&tags=b")
    assert response.json() == {"limit": 5, "offset": 0, "tags": ["a", "b"]}


def test_query_parameter_model_with_extra_forbid_reports_unknown_keys():
    client = TestClient(make_model_app())
    response = client.get("/items?limit=5&tool=plumbus")
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {
                "type": "extra_forbidden",
                "loc": ["query", "tool"],
                "msg": "Extra inputs are not permitted",
                "input": "plumbus",
            }
        ]
    }


def test_header_parameter_model_converts_underscores():
    client = TestClient(make_model_app())
    response = client.get(
        "/headers", headers=[("save-data", "true"), ("x-tag", "one"), ("x-tag", "two")]
    )
    assert response.status_code == 200
    assert response.json() == {"host": "testserver", "save_data": True, "x_tag": ["one", "two"]}


# --- declaration mistakes are registration errors ----------------------------------


def test_path_declared_for_a_name_not_in_the_path_is_a_registration_error():
    app = TrioAPI()
    with pytest.raises(
        TrioAPIError,
        match=r"GET /items: parameter 'item_id' of .*get_item\(\) is declared with Path\(\), but the path has no \{item_id\} segment",
    ):

        @app.get("/items")
        async def get_item(item_id: Annotated[int, Path()]):
            return item_id


def test_query_declared_for_a_path_segment_is_a_registration_error():
    app = TrioAPI()
    with pytest.raises(
        TrioAPIError, match=r"is declared with Query\(\), but \{item_id\} is a segment of the path"
    ):

        @app.get("/items/{item_id}")
        async def get_item(item_id: Annotated[int, Query()]):
            return item_id


def test_default_inside_annotated_is_a_registration_error():
    app = TrioAPI()
    with pytest.raises(TrioAPIError, match="sets a default inside Annotated"):

        @app.get("/items")
        async def get_items(q: Annotated[str, Query("x")]):
            return q


def test_a_dict_cannot_be_a_query_parameter():
    app = TrioAPI()
    # Also an AssertionError, as FastAPI raises for this mistake; the message
    # starts with FastAPI's words and goes on with where and the fix.
    with pytest.raises(
        InvalidParameterTypeError,
        match=r"GET /items: Query parameter 'q' must be one of the supported types: "
        r".*get_items\(\) "
        r"declares it with the type dict\[str, int\], which cannot be read from a query",
    ) as caught:

        @app.get("/items")
        async def get_items(q: Annotated[dict[str, int], Query()]):
            return q

    assert isinstance(caught.value, AssertionError)
    assert isinstance(caught.value, TrioAPIError)


def test_a_list_cannot_be_a_path_parameter():
    app = TrioAPI()
    with pytest.raises(AssertionError, match="Path parameter 'ids' must be one of the supported"):

        @app.get("/items/{ids}")
        async def get_items(ids: list[int]):
            return ids


@pytest.mark.parametrize(
    ("declaration", "send"),
    [
        (Query(), {"params": {"items": '["a", "b"]'}}),
        (Header(), {"headers": {"items": '["a", "b"]'}}),
        (Cookie(), {"cookies": {"items": '["a", "b"]'}}),
    ],
)
def test_a_json_typed_parameter_is_read_as_one_string(declaration, send):
    app = TrioAPI()

    @app.get("/")
    async def read(items: Annotated[Json[list[str]], declaration]) -> list[str]:
        return items

    client = TestClient(app, cookies=send.pop("cookies", None))
    assert client.get("/", **send).json() == ["a", "b"]


def test_path_alias_choices_pick_the_segment_each_route_has():
    app = TrioAPI()
    router = APIRouter()
    identifier = Path(validation_alias=AliasChoices("item_id", "id"), ge=1)

    def get_identifier(value: Annotated[int, identifier]) -> int:
        return value

    @router.get("/")
    def read(value: Annotated[int, Depends(get_identifier)]) -> int:
        return value

    app.include_router(router, prefix="/items/{item_id}")
    app.include_router(router, prefix="/legacy/{id}")
    client = TestClient(app)
    assert client.get("/items/3/").json() == 3
    assert client.get("/legacy/4/").json() == 4
    assert client.get("/legacy/0/").json()["detail"][0]["loc"] == ["path", "id"]
    # The shared declaration is not changed by either route.
    assert identifier.validation_alias == AliasChoices("item_id", "id")


def test_a_path_parameter_is_found_under_its_alias():
    app = TrioAPI()

    @app.get("/{repeated}")
    def read(path: str = Path(alias="repeated"), query: str = Query(alias="repeated")):
        return [path, query]

    assert TestClient(app).get("/p", params={"repeated": "q"}).json() == ["p", "q"]
