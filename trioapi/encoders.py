"""``jsonable_encoder``: turn any Python value into data the ``json`` module can write.

The result is made of ``dict`` (string, number, bool or ``None`` keys),
``list``, ``str``, ``int``, ``float``, ``bool`` and ``None``. Pydantic models
are dumped in JSON mode, dataclasses and plain objects become dicts, and the
standard library's value types (dates, decimals, UUIDs, paths, addresses…)
become their JSON spelling, as FastAPI does.
"""

from __future__ import annotations

import dataclasses
import datetime
import importlib
from collections import deque
from collections.abc import Callable, Mapping
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
from pathlib import Path, PurePath
from re import Pattern
from types import GeneratorType
from typing import Any, TypeAlias
from uuid import UUID

from pydantic import BaseModel
from pydantic.color import Color
from pydantic.networks import AnyUrl, NameEmail
from pydantic.types import SecretBytes, SecretStr
from pydantic_core import MultiHostUrl, PydanticUndefinedType, Url

from trioapi._foreign import check_not_foreign
from trioapi.exceptions import PydanticV1NotSupportedError
from trioapi.types import IncEx

__all__ = ["ENCODERS_BY_TYPE", "IncEx", "decimal_encoder", "jsonable_encoder"]

"""Pydantic's include/exclude spec: a set of names, or a nested mapping."""

Encoder: TypeAlias = Callable[[Any], Any]


def decimal_encoder(value: Decimal) -> int | float:
    """Encode a ``Decimal`` as ``int`` when it has no fractional digits, else ``float``.

    ``Decimal("5")`` stays an integer so that ids stored as ``NUMERIC(x, 0)``
    round-trip; ``Decimal("1.0")``, ``NaN`` and infinities become floats.
    """
    exponent = value.as_tuple().exponent
    # The exponent is a letter ("n", "N", "F") for NaN and infinities.
    if isinstance(exponent, int) and exponent >= 0:
        return int(value)
    return float(value)


def _isoformat(value: datetime.date | datetime.time) -> str:
    return value.isoformat()


def _timedelta_seconds(value: datetime.timedelta) -> float:
    return value.total_seconds()


ENCODERS_BY_TYPE: dict[type[Any], Encoder] = {
    bytes: lambda value: value.decode(),
    Color: str,
    datetime.date: _isoformat,
    datetime.datetime: _isoformat,
    datetime.time: _isoformat,
    datetime.timedelta: _timedelta_seconds,
    Decimal: decimal_encoder,
    Enum: lambda value: value.value,
    frozenset: list,
    deque: list,
    GeneratorType: list,
    IPv4Address: str,
    IPv4Interface: str,
    IPv4Network: str,
    IPv6Address: str,
    IPv6Interface: str,
    IPv6Network: str,
    NameEmail: str,
    Path: str,
    Pattern: lambda value: value.pattern,
    SecretBytes: str,
    SecretStr: str,
    set: list,
    UUID: str,
    Url: str,
    MultiHostUrl: str,
    AnyUrl: str,
}
"""How each non-JSON value type is written; looked up by exact type, then by ``isinstance``.

Applications may register their own types here; ``custom_encoder=`` is the
per-call alternative.
"""


def _register_optional_types() -> None:
    # pydantic-extra-types' Color replaces pydantic.color.Color; support it
    # when installed. pydantic's own multi-host DSNs share no base with AnyUrl.
    try:
        extra_color = importlib.import_module("pydantic_extra_types.color")
    except ImportError:
        pass
    else:
        ENCODERS_BY_TYPE[extra_color.Color] = str
    from pydantic import networks

    multi_host = getattr(networks, "_BaseMultiHostUrl", None)
    if isinstance(multi_host, type):
        ENCODERS_BY_TYPE[multi_host] = str


_register_optional_types()

_JSON_SCALARS = frozenset({str, int, float, bool, type(None)})
_SEQUENCES = (list, set, frozenset, GeneratorType, tuple, deque)


@dataclasses.dataclass(frozen=True, slots=True)
class _Options:
    """The options that travel unchanged down the recursion."""

    by_alias: bool = True
    exclude_unset: bool = False
    exclude_defaults: bool = False
    exclude_none: bool = False
    custom_encoder: Mapping[Any, Encoder] = dataclasses.field(default_factory=dict)
    sqlalchemy_safe: bool = True


def jsonable_encoder(
    obj: Any,
    include: IncEx | None = None,
    exclude: IncEx | None = None,
    by_alias: bool = True,
    exclude_unset: bool = False,
    exclude_defaults: bool = False,
    exclude_none: bool = False,
    custom_encoder: dict[Any, Callable[[Any], Any]] | None = None,
    sqlalchemy_safe: bool = True,
) -> Any:
    """Convert ``obj`` to something ``json.dumps`` can encode.

    Args:
        obj: Any value: a pydantic model, dataclass, mapping, sequence, scalar,
            or an object readable through ``dict(obj)`` or ``vars(obj)``.
        include: The fields to keep (pydantic's ``include``); for mappings, the
            keys to keep.
        exclude: The fields to drop (pydantic's ``exclude``); for mappings, the
            keys to drop.
        by_alias: Write pydantic fields under their aliases.
        exclude_unset: Leave out model fields that were never set explicitly.
        exclude_defaults: Leave out model fields equal to their default.
        exclude_none: Leave out fields and mapping entries whose value is ``None``.
        custom_encoder: Encoders by type, tried before the built-in ones (exact
            type first, then ``isinstance`` in the mapping's order).
        sqlalchemy_safe: Skip mapping keys starting with ``_sa`` (SQLAlchemy's
            internal state).

    Returns:
        The JSON-compatible value.

    Raises:
        ValueError: ``obj`` is of an unknown type that neither ``dict(obj)`` nor
            ``vars(obj)`` can read; the error's argument lists both failures.
    """
    options = _Options(
        by_alias=by_alias,
        exclude_unset=exclude_unset,
        exclude_defaults=exclude_defaults,
        exclude_none=exclude_none,
        custom_encoder=custom_encoder or {},
        sqlalchemy_safe=sqlalchemy_safe,
    )
    return _encode(obj, _as_spec(include), _as_spec(exclude), options)


def _as_spec(spec: Any) -> Any:
    # Lists and tuples of names are accepted and mean the same as a set.
    if spec is None or isinstance(spec, set | dict):
        return spec
    return set(spec)


def _encode(obj: Any, include: Any, exclude: Any, options: _Options) -> Any:
    if options.custom_encoder:
        encoder = _find_encoder(obj, options.custom_encoder)
        if encoder is not None:
            return encoder(obj)
    if type(obj) in _JSON_SCALARS:
        return obj
    if isinstance(obj, BaseModel):
        return _encode_model(obj, include, exclude, options)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return _encode(dataclasses.asdict(obj), include, exclude, options)
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, PurePath):
        return str(obj)
    if isinstance(obj, str | int | float):
        return obj
    if isinstance(obj, PydanticUndefinedType):
        return None
    if isinstance(obj, dict):
        return _encode_dict(obj, include, exclude, options)
    if isinstance(obj, _SEQUENCES):
        return [_encode(item, include, exclude, options) for item in obj]
    encoder = _find_encoder(obj, ENCODERS_BY_TYPE)
    if encoder is not None:
        return encoder(obj)
    return _encode(_read_fields(obj), include, exclude, options)


def _find_encoder(obj: Any, encoders: Mapping[Any, Encoder]) -> Encoder | None:
    exact = encoders.get(type(obj))
    if exact is not None:
        return exact
    for type_, encoder in encoders.items():
        if isinstance(obj, type_):
            return encoder
    return None


def _encode_model(obj: BaseModel, include: Any, exclude: Any, options: _Options) -> Any:
    data = obj.model_dump(
        mode="json",
        include=include,
        exclude=exclude,
        by_alias=options.by_alias,
        exclude_unset=options.exclude_unset,
        exclude_defaults=options.exclude_defaults,
        exclude_none=options.exclude_none,
    )
    # The dump is already JSON data; the second pass only applies the mapping
    # rules (``_sa`` keys, ``None`` entries of dict fields) as FastAPI does.
    # Custom encoders do not reach inside a model: pydantic owns its fields.
    inner = _Options(
        exclude_none=options.exclude_none,
        exclude_defaults=options.exclude_defaults,
        sqlalchemy_safe=options.sqlalchemy_safe,
    )
    return _encode(data, None, None, inner)


def _encode_dict(obj: dict[Any, Any], include: Any, exclude: Any, options: _Options) -> Any:
    allowed = obj.keys() if include is None else obj.keys() & set(include)
    if exclude is not None:
        allowed = allowed - set(exclude)
    encoded: dict[Any, Any] = {}
    for key, value in obj.items():
        if key not in allowed:
            continue
        if options.sqlalchemy_safe and isinstance(key, str) and key.startswith("_sa"):
            continue
        if value is None and options.exclude_none:
            continue
        encoded[_encode(key, None, None, options)] = _encode(value, None, None, options)
    return encoded


def _read_fields(obj: Any) -> Any:
    """Read an unknown object as a mapping: ``dict(obj)``, then ``vars(obj)``."""
    _reject_pydantic_v1(obj)
    # A fastapi/starlette response or model returned by a half-ported endpoint.
    check_not_foreign("The value to encode", obj)
    errors: list[Exception] = []
    try:
        return dict(obj)
    except Exception as exc:
        # Any failure just means "not a mapping"; the next reader is tried.
        errors.append(exc)
    try:
        return vars(obj)
    except Exception as exc:
        errors.append(exc)
        raise ValueError(errors) from exc


def _reject_pydantic_v1(obj: Any) -> None:
    # pydantic.v1 models iterate as (name, value) pairs, so dict(obj) would
    # "work" and silently skip validation-mode aliases and nested config.
    if any(cls.__module__ == "pydantic.v1.main" for cls in type(obj).__mro__):
        raise PydanticV1NotSupportedError(
            f"pydantic.v1 models are not supported: got {obj!r}. "
            "Port the model to pydantic v2 (from pydantic import BaseModel)."
        )
