"""Response models: FastAPI's annotation rule, the serializer built once, and no-model JSON."""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
import threading
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from pydantic import BaseModel, Field, RootModel

from trioapi._routing.response_model import (
    ResponseSerializer,
    build_response_serializer,
    is_body_allowed_for_status_code,
    resolve_response_model,
    serialize_without_model,
)
from trioapi.applications import TrioAPI
from trioapi.datastructures import Default
from trioapi.exceptions import PydanticV1NotSupportedError, ResponseValidationError, TrioAPIError
from trioapi.responses import JSONResponse, RedirectResponse, Response


class Item(BaseModel):
    name: str
    price: float
    tax: float | None = None
    tags: list[str] = []


class UserIn(BaseModel):
    username: str
    email: str


class UserWithPassword(UserIn):
    password: str


class Aliased(BaseModel):
    item_name: str = Field(alias="itemName")


@dataclasses.dataclass
class ItemRow:
    name: str
    price: float
    secret: str = "hidden"


class OrmLike:
    """Not a mapping, not a model: read by attribute (from_attributes)."""

    def __init__(self) -> None:
        self.name = "orm"
        self.price = 2.5


UNSET = Default(None)


# -- which annotation becomes the response model -------------------------------


def test_return_annotation_is_the_model_when_none_is_given() -> None:
    def endpoint() -> Item:
        raise NotImplementedError

    assert resolve_response_model(endpoint, UNSET) is Item


def test_string_return_annotation_is_evaluated() -> None:
    def endpoint() -> list[Item]:
        raise NotImplementedError

    endpoint.__annotations__["return"] = "list[Item]"
    assert resolve_response_model(endpoint, UNSET) == list[Item]


def test_explicit_response_model_wins_over_the_annotation() -> None:
    def endpoint() -> UserWithPassword:
        raise NotImplementedError

    assert resolve_response_model(endpoint, UserIn) is UserIn


def test_explicit_none_disables_the_model() -> None:
    def endpoint() -> Response | dict[str, str]:
        raise NotImplementedError

    assert resolve_response_model(endpoint, None) is None


def test_no_annotation_none_and_response_subclasses_give_no_model() -> None:
    def bare():  # type: ignore[no-untyped-def]
        return {}

    def returns_none() -> None:
        return None

    def returns_response() -> Response:
        raise NotImplementedError

    def returns_redirect() -> RedirectResponse:
        raise NotImplementedError

    def returns_string_none() -> None:
        return None

    returns_string_none.__annotations__["return"] = "None"
    for endpoint in [bare, returns_none, returns_response, returns_redirect, returns_string_none]:
        assert resolve_response_model(endpoint, UNSET) is None, endpoint.__name__


def test_generator_endpoints_annotated_as_iterators_give_no_model() -> None:
    def sync_items() -> Iterator[Item]:
        yield Item(name="a", price=1)

    async def async_items() -> AsyncIterator[Item]:
        yield Item(name="a", price=1)

    assert resolve_response_model(sync_items, UNSET) is None
    assert resolve_response_model(async_items, UNSET) is None


def test_union_of_response_and_data_is_refused_at_registration() -> None:
    def endpoint() -> Response | dict[str, str]:
        raise NotImplementedError

    model = resolve_response_model(endpoint, UNSET)
    with pytest.raises(TrioAPIError, match=r"decorator parameter response_model=None"):
        build_response_serializer(model)


# -- status codes that may carry a body ----------------------------------------


@pytest.mark.parametrize(
    ("status", "allowed"),
    [
        (None, True),
        ("default", True),
        ("2XX", True),
        ("5XX", True),
        (100, False),
        (199, False),
        (200, True),
        ("201", True),
        (204, False),
        (205, False),
        ("304", False),
        (404, True),
    ],
)
def test_is_body_allowed_for_status_code(status: int | str | None, allowed: bool) -> None:
    assert is_body_allowed_for_status_code(status) is allowed


# -- serializing with a model ---------------------------------------------------


async def test_model_instance_is_serialized_to_compact_json_bytes() -> None:
    serialize = build_response_serializer(Item)
    body = await serialize(Item(name="Fooé", price=1.5))
    assert body == b'{"name":"Foo\xc3\xa9","price":1.5,"tax":null,"tags":[]}'


async def test_dict_is_validated_and_coerced() -> None:
    serialize = build_response_serializer(Item)
    assert await serialize({"name": "x", "price": "3"}) == (
        b'{"name":"x","price":3.0,"tax":null,"tags":[]}'
    )


async def test_subclass_instance_is_filtered_to_the_declared_model() -> None:
    serialize = build_response_serializer(UserIn)
    user = UserWithPassword(username="ann", email="a@x.io", password="secret")
    assert await serialize(user) == b'{"username":"ann","email":"a@x.io"}'


async def test_list_of_subclass_instances_is_filtered_too() -> None:
    serialize = build_response_serializer(list[UserIn])
    users = [UserWithPassword(username="b", email="b@x.io", password="p")]
    assert await serialize(users) == b'[{"username":"b","email":"b@x.io"}]'


async def test_dataclasses_and_orm_objects_are_read_by_attribute() -> None:
    serialize = build_response_serializer(Item)
    assert await serialize(ItemRow("row", 1.0)) == (
        b'{"name":"row","price":1.0,"tax":null,"tags":[]}'
    )
    assert await serialize(OrmLike()) == b'{"name":"orm","price":2.5,"tax":null,"tags":[]}'


async def test_root_models_dataclasses_and_plain_types() -> None:
    class Names(RootModel[list[str]]):
        pass

    assert await build_response_serializer(Names)(["a", "b"]) == b'["a","b"]'
    assert await build_response_serializer(ItemRow)(ItemRow("d", 2)) == (
        b'{"name":"d","price":2.0,"secret":"hidden"}'
    )
    assert await build_response_serializer(dict[str, int])({"a": "1"}) == b'{"a":1}'
    assert await build_response_serializer(UUID)(UUID(int=5)) == (
        b'"00000000-0000-0000-0000-000000000005"'
    )
    assert await build_response_serializer(datetime.date)("2024-01-02") == b'"2024-01-02"'
    assert await build_response_serializer(Decimal)(Decimal("1.50")) == b'"1.50"'


async def test_response_model_options_are_applied() -> None:
    item = Item(name="n", price=1, tags=["t"])
    exclude_unset = build_response_serializer(Item, exclude_unset=True)
    assert await exclude_unset(item) == b'{"name":"n","price":1.0,"tags":["t"]}'
    exclude_defaults = build_response_serializer(Item, exclude_defaults=True)
    assert await exclude_defaults(Item(name="n", price=1)) == b'{"name":"n","price":1.0}'
    exclude_none = build_response_serializer(Item, exclude_none=True)
    assert await exclude_none(item) == b'{"name":"n","price":1.0,"tags":["t"]}'
    include = build_response_serializer(Item, include={"name", "tax"})
    assert await include(item) == b'{"name":"n","tax":null}'
    exclude = build_response_serializer(Item, exclude=["tags", "tax"])
    assert await exclude(item) == b'{"name":"n","price":1.0}'


async def test_aliases_are_used_unless_by_alias_is_false() -> None:
    value = Aliased(itemName="x")
    assert await build_response_serializer(Aliased)(value) == b'{"itemName":"x"}'
    by_name = build_response_serializer(Aliased, by_alias=False)
    assert await by_name(value) == b'{"item_name":"x"}'


async def test_non_finite_floats_are_written_as_null() -> None:
    serialize = build_response_serializer(list[float])
    assert await serialize([math.nan, math.inf, 1.0]) == b"[null,null,1.0]"


async def test_invalid_return_value_raises_response_validation_error() -> None:
    serialize = build_response_serializer(Item)
    returned = {"name": "x"}
    with pytest.raises(ResponseValidationError) as info:
        await serialize(returned)
    assert info.value.body is returned
    assert list(info.value.errors()) == [
        {
            "type": "missing",
            "loc": ("response", "price"),
            "msg": "Field required",
            "input": {"name": "x"},
        }
    ]


async def test_invalid_nested_value_reports_the_full_location() -> None:
    serialize = build_response_serializer(list[Item])
    with pytest.raises(ResponseValidationError) as info:
        await serialize([{"name": "a", "price": 1}, {"name": "b", "price": "x"}])
    [error] = info.value.errors()
    assert error["loc"] == ("response", 1, "price")
    assert error["type"] == "float_parsing"


async def test_serializer_can_validate_in_a_worker_thread() -> None:
    seen: list[int] = []

    class Probe(BaseModel):
        value: int

        def model_post_init(self, context: Any) -> None:
            seen.append(threading.get_ident())

    in_thread = build_response_serializer(Probe, in_thread=True)
    assert await in_thread({"value": 1}) == b'{"value":1}'
    assert await in_thread.to_content({"value": 2}) == {"value": 2}
    inline = build_response_serializer(Probe)
    assert await inline({"value": 3}) == b'{"value":3}'
    here = threading.get_ident()
    assert [ident == here for ident in seen] == [False, False, True]


async def test_to_content_gives_json_compatible_data_for_custom_response_classes() -> None:
    serialize = build_response_serializer(list[UserIn], exclude={0: {"email"}})
    users = [UserWithPassword(username="c", email="c@x.io", password="p")]
    assert await serialize.to_content(users) == [{"username": "c"}]
    when = build_response_serializer(dict[str, datetime.date])
    assert await when.to_content({"d": datetime.date(2020, 1, 2)}) == {"d": "2020-01-02"}


def test_serializer_exposes_its_model_and_adapter() -> None:
    serialize = build_response_serializer(list[Item])
    assert isinstance(serialize, ResponseSerializer)
    assert serialize.response_model == list[Item]
    assert serialize.type_adapter.json_schema()["type"] == "array"
    assert serialize.serialize([]) == b"[]"


def test_pydantic_v1_response_model_is_refused() -> None:
    from pydantic.v1 import BaseModel as V1Model

    class Old(V1Model):
        x: int

    with pytest.raises(PydanticV1NotSupportedError, match="pydantic.v1 model"):
        build_response_serializer(Old)
    with pytest.raises(PydanticV1NotSupportedError, match="holds a pydantic.v1 model"):
        build_response_serializer(list[Old])


def _old_model() -> type:
    from pydantic.v1 import BaseModel as V1Model

    class Old(V1Model):
        x: int

    return Old


OldV1 = _old_model()


def test_pydantic_v1_models_anywhere_are_registration_errors() -> None:
    app = TrioAPI()
    with pytest.raises(PydanticV1NotSupportedError, match="parameter 'data' of .*holds a pydantic"):

        @app.post("/")
        def endpoint(data: dict | OldV1):
            return data

    with pytest.raises(PydanticV1NotSupportedError, match=r"GET /: the model of responses\[400\]"):

        @app.get("/", responses={400: {"model": OldV1}})
        def other():
            return {}

    assert issubclass(PydanticV1NotSupportedError, TrioAPIError)


# -- without a model -------------------------------------------------------------


def test_without_model_output_matches_json_response_byte_for_byte() -> None:
    value = {"name": "café", "when": datetime.date(2024, 1, 2), "n": [1, 2.5, None, True]}
    body = serialize_without_model(value)
    assert body == '{"name":"café","when":"2024-01-02","n":[1,2.5,null,true]}'.encode()
    assert body == JSONResponse(json.loads(body)).body


def test_without_model_encodes_models_and_keeps_their_extra_fields() -> None:
    user = UserWithPassword(username="u", email="e", password="p")
    assert serialize_without_model(user) == b'{"username":"u","email":"e","password":"p"}'


def test_without_model_refuses_nan() -> None:
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        serialize_without_model({"x": math.nan})


class NotAModel:
    pass


def test_an_invalid_model_says_how_to_turn_the_response_model_off() -> None:
    app = TrioAPI()
    with pytest.raises(TrioAPIError, match="not a valid Pydantic field type.*response_model=None"):

        @app.get("/")
        def endpoint() -> NotAModel:
            return NotAModel()

    with pytest.raises(TrioAPIError, match=r"GET /other: responses\['500'\]: Invalid response"):

        @app.get("/other", responses={"500": {"model": NotAModel}})
        def other():
            return {}


def test_an_additional_response_key_that_is_no_status_code_fails_the_document() -> None:
    app = TrioAPI()

    @app.get("/a", responses={"hello": {"description": "no"}})
    def endpoint():
        return {}

    with pytest.raises(ValueError, match="responses key 'hello' is not a status code"):
        app.openapi()
