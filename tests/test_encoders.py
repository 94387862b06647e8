"""jsonable_encoder: FastAPI's conversions, type by type, and its options."""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
import re
from collections import deque
from decimal import Decimal
from enum import Enum
from ipaddress import (
    IPv4Address,
    IPv4Interface,
    IPv4Network,
    IPv6Address,
    IPv6Interface,
    IPv6Network,
)
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import AnyUrl, BaseModel, ConfigDict, Field, HttpUrl, RootModel, SecretStr
from pydantic.color import Color
from pydantic.networks import NameEmail, PostgresDsn
from pydantic.types import SecretBytes
from pydantic_core import PydanticUndefined

from trioapi.encoders import ENCODERS_BY_TYPE, decimal_encoder, jsonable_encoder
from trioapi.exceptions import TrioAPIError


class Pet(BaseModel):
    name: str
    owner_name: str = Field("nobody", alias="ownerName")
    birthday: datetime.date | None = None
    tags: dict[str, Any] = {}


class Color3(Enum):
    RED = "red"
    BLUE = 2


class StrColor(str, Enum):  # noqa: UP042 - the mixin form FastAPI apps use
    GREEN = "green"


@dataclasses.dataclass
class Point:
    x: int
    y: int
    label: str | None = None


class Slotted:
    __slots__ = ("a",)

    def __init__(self) -> None:
        self.a = 1


class PlainObject:
    def __init__(self) -> None:
        self.name = "plain"
        self.when = datetime.date(2024, 1, 2)
        self._sa_instance_state = "internal"


class MappingLike:
    def __iter__(self) -> Any:
        return iter([("k", UUID(int=1))])


def test_json_scalars_are_returned_unchanged() -> None:
    for value in ["text", 0, -5, 1.5, True, False, None]:
        assert jsonable_encoder(value) is value


def test_enum_is_encoded_as_its_value_even_when_it_subclasses_str() -> None:
    assert jsonable_encoder(Color3.RED) == "red"
    assert jsonable_encoder(Color3.BLUE) == 2
    assert jsonable_encoder(StrColor.GREEN) == "green"
    assert type(jsonable_encoder(StrColor.GREEN)) is str


def test_paths_become_strings() -> None:
    assert jsonable_encoder(PurePosixPath("/a/b")) == "/a/b"
    assert jsonable_encoder(PureWindowsPath("C:/x")) == "C:\\x"
    assert jsonable_encoder(Path("rel/file.txt")) == "rel/file.txt"


def test_dates_and_times_use_isoformat() -> None:
    assert jsonable_encoder(datetime.date(2024, 2, 29)) == "2024-02-29"
    assert jsonable_encoder(datetime.datetime(2024, 2, 29, 13, 5, 1)) == "2024-02-29T13:05:01"
    aware = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    assert jsonable_encoder(aware) == "2024-01-01T00:00:00+00:00"
    assert jsonable_encoder(datetime.time(7, 8, 9, 10)) == "07:08:09.000010"


def test_timedelta_is_float_seconds() -> None:
    assert jsonable_encoder(datetime.timedelta(minutes=1, milliseconds=500)) == 60.5
    assert type(jsonable_encoder(datetime.timedelta(seconds=3))) is float


def test_decimal_is_int_without_fraction_and_float_otherwise() -> None:
    assert jsonable_encoder(Decimal("5")) == 5
    assert type(jsonable_encoder(Decimal("5"))) is int
    assert jsonable_encoder(Decimal("1E+2")) == 100
    assert jsonable_encoder(Decimal("1.0")) == 1.0
    assert type(jsonable_encoder(Decimal("1.0"))) is float
    assert jsonable_encoder(Decimal("-0.25")) == -0.25
    assert math.isnan(decimal_encoder(Decimal("NaN")))
    assert decimal_encoder(Decimal("-Infinity")) == -math.inf


def test_value_types_become_their_string_form() -> None:
    assert jsonable_encoder(UUID(int=1)) == "00000000-0000-0000-0000-000000000001"
    assert jsonable_encoder(b"bytes \xc3\xa9") == "bytes é"
    assert jsonable_encoder(IPv4Address("10.0.0.1")) == "10.0.0.1"
    assert jsonable_encoder(IPv4Interface("10.0.0.1/24")) == "10.0.0.1/24"
    assert jsonable_encoder(IPv4Network("10.0.0.0/8")) == "10.0.0.0/8"
    assert jsonable_encoder(IPv6Address("::1")) == "::1"
    assert jsonable_encoder(IPv6Interface("::1/128")) == "::1/128"
    assert jsonable_encoder(IPv6Network("fe80::/64")) == "fe80::/64"
    assert jsonable_encoder(re.compile(r"^a+$")) == "^a+$"
    assert jsonable_encoder(NameEmail("Ann", "ann@example.com")) == "Ann <ann@example.com>"
    assert jsonable_encoder(SecretStr("hunter2")) == "**********"
    assert jsonable_encoder(SecretBytes(b"hunter2")) == "b'**********'"


def test_pydantic_colors_and_urls_become_strings() -> None:
    with pytest.warns(DeprecationWarning):
        color = Color("red")
    assert jsonable_encoder(color) == "red"
    assert jsonable_encoder(AnyUrl("https://example.com/a?b=1")) == "https://example.com/a?b=1"
    assert jsonable_encoder(HttpUrl("https://example.com")) == "https://example.com/"
    dsn = PostgresDsn("postgres://u:p@h1,h2/db")
    assert jsonable_encoder(dsn) == "postgres://u:p@h1,h2/db"


def test_collections_become_lists_with_encoded_items() -> None:
    assert jsonable_encoder([1, UUID(int=2)]) == [1, "00000000-0000-0000-0000-000000000002"]
    assert jsonable_encoder((1, "a")) == [1, "a"]
    assert jsonable_encoder(deque([Decimal("1.5")])) == [1.5]
    assert jsonable_encoder({3}) == [3]
    assert jsonable_encoder(frozenset({"x"})) == ["x"]
    assert jsonable_encoder(i * 2 for i in range(3)) == [0, 2, 4]
    assert jsonable_encoder([[datetime.date(2020, 1, 1)]]) == [["2020-01-01"]]


def test_dict_keys_and_values_are_encoded() -> None:
    source = {Color3.RED: datetime.date(2020, 5, 6), 1: None, UUID(int=0): [Decimal("2")]}
    assert jsonable_encoder(source) == {
        "red": "2020-05-06",
        1: None,
        "00000000-0000-0000-0000-000000000000": [2],
    }


def test_dict_include_and_exclude_filter_top_level_keys() -> None:
    data = {"a": 1, "b": 2, "c": {"a": 3, "b": 4}}
    assert jsonable_encoder(data, include={"a", "c"}) == {"a": 1, "c": {"a": 3, "b": 4}}
    assert jsonable_encoder(data, exclude={"b"}) == {"a": 1, "c": {"a": 3, "b": 4}}
    assert jsonable_encoder(data, include=["a", "b"], exclude=("b",)) == {"a": 1}
    assert jsonable_encoder(data, include={"a": True}) == {"a": 1}


def test_include_and_exclude_apply_to_each_item_of_a_list() -> None:
    rows = [{"a": 1, "b": 2}, {"a": 3, "b": 4}]
    assert jsonable_encoder(rows, exclude={"b"}) == [{"a": 1}, {"a": 3}]


def test_exclude_none_drops_none_values_of_mappings() -> None:
    data = {"a": None, "b": {"c": None, "d": 1}}
    assert jsonable_encoder(data, exclude_none=True) == {"b": {"d": 1}}
    assert jsonable_encoder(data) == {"a": None, "b": {"c": None, "d": 1}}


def test_sqlalchemy_internal_keys_are_dropped_unless_asked_not_to() -> None:
    data = {"_sa_instance_state": object, "_sample": 1, "name": "x"}
    assert jsonable_encoder(data) == {"name": "x"}
    assert jsonable_encoder({"_sa": 1}, sqlalchemy_safe=False) == {"_sa": 1}


def test_model_is_dumped_in_json_mode_by_alias() -> None:
    pet = Pet(name="Rex", birthday=datetime.date(2020, 1, 1))
    assert jsonable_encoder(pet) == {
        "name": "Rex",
        "ownerName": "nobody",
        "birthday": "2020-01-01",
        "tags": {},
    }
    assert jsonable_encoder(pet, by_alias=False)["owner_name"] == "nobody"


def test_model_options_are_passed_to_pydantic() -> None:
    pet = Pet(name="Rex", ownerName="nobody", tags={"k": None})
    assert jsonable_encoder(pet, exclude_unset=True) == {
        "name": "Rex",
        "ownerName": "nobody",
        "tags": {"k": None},
    }
    assert jsonable_encoder(pet, exclude_defaults=True) == {"name": "Rex", "tags": {"k": None}}
    # As in FastAPI, exclude_none also reaches the None entries of dict fields.
    assert jsonable_encoder(pet, exclude_none=True) == {
        "name": "Rex",
        "ownerName": "nobody",
        "tags": {},
    }
    assert jsonable_encoder(pet, include={"name"}) == {"name": "Rex"}
    assert jsonable_encoder(pet, exclude=["tags", "birthday"]) == {
        "name": "Rex",
        "ownerName": "nobody",
    }


def test_model_nested_in_containers_and_root_models() -> None:
    class Numbers(RootModel[list[int]]):
        pass

    assert jsonable_encoder({"p": [Pet(name="a")]})["p"][0]["name"] == "a"
    assert jsonable_encoder(Numbers([1, 2])) == [1, 2]


def test_model_with_computed_and_custom_serialized_fields() -> None:
    class Model(BaseModel):
        model_config = ConfigDict(ser_json_timedelta="float")
        span: datetime.timedelta

    assert jsonable_encoder(Model(span=datetime.timedelta(seconds=2))) == {"span": 2.0}


def test_dataclass_becomes_a_dict_with_options_applied() -> None:
    point = Point(1, 2)
    assert jsonable_encoder(point) == {"x": 1, "y": 2, "label": None}
    assert jsonable_encoder(point, exclude_none=True) == {"x": 1, "y": 2}
    assert jsonable_encoder(point, include={"x"}) == {"x": 1}
    assert jsonable_encoder([point], exclude={"label"}) == [{"x": 1, "y": 2}]


def test_dataclass_class_itself_is_not_treated_as_an_instance() -> None:
    with pytest.raises(ValueError, match="not iterable"):
        jsonable_encoder(Point)


def test_custom_encoder_wins_by_exact_type_then_isinstance() -> None:
    class Sub(datetime.datetime):
        pass

    moment = Sub(2020, 1, 1)
    exact = {Sub: lambda _: "exact", datetime.datetime: lambda _: "base"}
    assert jsonable_encoder(moment, custom_encoder=exact) == "exact"
    assert jsonable_encoder(moment, custom_encoder={datetime.date: lambda _: "date"}) == "date"
    nested = {"at": [datetime.datetime(2021, 1, 1)]}
    assert jsonable_encoder(nested, custom_encoder={datetime.datetime: lambda d: d.year}) == {
        "at": [2021]
    }


def test_custom_encoder_can_replace_a_whole_model_but_not_its_fields() -> None:
    pet = Pet(name="Rex", birthday=datetime.date(2020, 1, 1))
    assert jsonable_encoder(pet, custom_encoder={Pet: lambda p: p.name}) == "Rex"
    encoded = jsonable_encoder(pet, custom_encoder={datetime.date: lambda _: "never"})
    assert encoded["birthday"] == "2020-01-01"


def test_subclasses_of_registered_types_use_the_base_encoder() -> None:
    class MyUUID(UUID):
        pass

    class MyBytes(bytes):
        pass

    assert jsonable_encoder(MyUUID(int=3)) == "00000000-0000-0000-0000-000000000003"
    assert jsonable_encoder(MyBytes(b"ok")) == "ok"
    assert Decimal in ENCODERS_BY_TYPE


def test_object_with_dict_is_read_through_vars() -> None:
    assert jsonable_encoder(PlainObject()) == {"name": "plain", "when": "2024-01-02"}


def test_iterable_of_pairs_is_read_through_dict() -> None:
    assert jsonable_encoder(MappingLike()) == {"k": "00000000-0000-0000-0000-000000000001"}


def test_unreadable_object_raises_value_error_with_both_failures() -> None:
    with pytest.raises(ValueError, match="not iterable") as info:
        jsonable_encoder(Slotted())
    errors = info.value.args[0]
    assert [type(error) for error in errors] == [TypeError, TypeError]
    assert "vars() argument must have __dict__ attribute" in str(errors[1])


def test_pydantic_undefined_becomes_none() -> None:
    assert jsonable_encoder(PydanticUndefined) is None
    assert jsonable_encoder({"a": PydanticUndefined}) == {"a": None}


def test_pydantic_v1_model_is_rejected_with_a_fix() -> None:
    from pydantic.v1 import BaseModel as V1Model

    class Old(V1Model):
        x: int = 1

    with pytest.raises(TrioAPIError, match="pydantic.v1 models are not supported"):
        jsonable_encoder(Old())


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


def _strip_sqlalchemy_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_sqlalchemy_keys(v) for k, v in value.items() if not k.startswith("_sa")}
    if isinstance(value, list):
        return [_strip_sqlalchemy_keys(v) for v in value]
    return value


@given(json_values)
def test_json_values_round_trip_through_the_encoder(value: Any) -> None:
    encoded = jsonable_encoder(value)
    assert encoded == _strip_sqlalchemy_keys(value)
    assert json.loads(json.dumps(encoded)) == encoded


@given(json_values)
def test_tuples_and_sets_of_json_values_encode_as_lists(value: Any) -> None:
    assert jsonable_encoder((value,)) == [_strip_sqlalchemy_keys(value)]
    assert jsonable_encoder(deque([value]), sqlalchemy_safe=False) == [value]


exotic_values = st.one_of(
    st.dates(),
    st.datetimes(),
    st.times(),
    st.timedeltas(),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.uuids(),
    st.ip_addresses(),
    st.binary().filter(lambda b: _is_utf8(b)),
    st.sets(st.integers(), max_size=3),
    st.frozensets(st.text(max_size=3), max_size=3),
    st.builds(Point, st.integers(), st.integers(), st.none() | st.text()),
)


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return True


@given(st.lists(exotic_values, max_size=5))
def test_standard_value_types_always_encode_to_json(values: list[Any]) -> None:
    encoded = jsonable_encoder(values)
    assert json.loads(json.dumps(encoded)) == encoded
