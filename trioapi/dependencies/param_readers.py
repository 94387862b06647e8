"""Readers of a dependant's path, query, header and cookie parameters, built once per plan.

:func:`param_readers` turns a dependant's parameter lists into one
:class:`LocationReader` per location it reads. Most parameters are *plain*:
one value under one key (no parameter model, no repeated key, no
``AliasChoices``). For those the reader keeps, per parameter, what
:func:`~trioapi.dependencies.request_params.validate_group` would work out
for every request: the key to read, the validator, and, for an optional
parameter whose default is immutable and not validated, the default itself.
A request then costs one dict look-up and one pydantic-core call per
present parameter. Everything else goes through ``validate_group``; the
values and the 422 errors are the same either way.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import ValidationError
from pydantic_core import PydanticUndefined

from trioapi.dependencies.models import Dependant, ParamField, prefix_errors
from trioapi.dependencies.request_params import Errors, validate_group, validate_present
from trioapi.requests import HTTPConnection

__all__ = ["LocationReader", "param_readers"]

# A missing value that validate_present() must handle (required, a default
# factory, a default to copy or to validate).
_NOT_PLAIN: Any = object()
# Defaults that copy.deepcopy() returns as they are.
_IMMUTABLE = (type(None), bool, int, float, str, bytes, enum.Enum)

Source = Callable[[HTTPConnection], Mapping[str, Any]]


def _path(connection: HTTPConnection) -> Mapping[str, Any]:
    return connection.path_params


def _query(connection: HTTPConnection) -> Mapping[str, Any]:
    return connection.query_params


def _header(connection: HTTPConnection) -> Mapping[str, Any]:
    return connection.headers


def _cookie(connection: HTTPConnection) -> Mapping[str, Any]:
    return connection.cookies


def _missing_value(field: ParamField) -> Any:
    """The value a missing ``field`` always gets, or ``_NOT_PLAIN``."""
    info = field.field_info
    if field.required or info.default_factory is not None or info.validate_default:
        return _NOT_PLAIN
    default = info.default
    if default is PydanticUndefined or not isinstance(default, _IMMUTABLE):
        return _NOT_PLAIN
    return default


def _plain_entry(field: ParamField) -> tuple[str, str, ParamField, Any] | None:
    if field.model_fields or field.is_sequence or field.adapter is None:
        return None
    if len(field.aliases) > 1:
        return None
    key = field.aliases[0][1] if field.aliases else field.key
    return (field.name, key, field, _missing_value(field))


class LocationReader:
    """Reads and validates a dependant's parameters of one location.

    Attributes:
        location: ``"path"``, ``"query"``, ``"header"`` or ``"cookie"``.
        fields: The parameters, in declaration order.
        plain: One ``(name, key, field, missing value)`` per parameter when
            all of them are plain, else ``None``.
    """

    __slots__ = ("fields", "location", "plain", "source")

    def __init__(self, location: str, source: Source, fields: Sequence[ParamField]) -> None:
        self.location = location
        self.source = source
        self.fields = tuple(fields)
        entries = [_plain_entry(field) for field in fields]
        self.plain: tuple[tuple[str, str, ParamField, Any], ...] | None = None
        if all(entry is not None for entry in entries):
            self.plain = tuple(entry for entry in entries if entry is not None)

    def read(self, connection: HTTPConnection, values: dict[str, Any], errors: Errors) -> None:
        """Add the valid parameters to ``values`` by name, and their errors to ``errors``."""
        source = self.source(connection)
        plain = self.plain
        if plain is None:
            values.update(validate_group(self.fields, source, self.location, errors))
            return
        for name, key, field, missing in plain:
            value = source.get(key)
            if value is None:
                if missing is _NOT_PLAIN:
                    before = len(errors)
                    value = validate_present(field, None, (self.location, key), errors)
                    if len(errors) == before:
                        values[name] = value
                else:
                    values[name] = missing
                continue
            # What ParamField.validate does, without its frames: the adapter's
            # own validator, called once.
            try:
                values[name] = field.adapter.validator.validate_python(  # type: ignore[union-attr]
                    value, from_attributes=True
                )
            except ValidationError as exc:
                errors.extend(prefix_errors(exc, (self.location, key)))


def param_readers(dependant: Dependant) -> tuple[LocationReader, ...]:
    """The readers of ``dependant``'s path, query, header and cookie parameters, in that order."""
    locations = (
        ("path", _path, dependant.path_params),
        ("query", _query, dependant.query_params),
        ("header", _header, dependant.header_params),
        ("cookie", _cookie, dependant.cookie_params),
    )
    return tuple(
        LocationReader(location, source, fields) for location, source, fields in locations if fields
    )
