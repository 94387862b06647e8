"""Per request: read declared parameters from the request and validate them.

The rules are FastAPI's, so values, defaults and the 422 error list are the
same: a missing required value is ``{"type": "missing", "loc": [...],
"msg": "Field required", "input": None}``; a missing optional value is a
fresh copy of its default, not validated; an empty repeated key counts as
missing; an empty string in a form counts as missing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from trioapi.dependencies.models import ParamField

__all__ = [
    "collect_model_values",
    "missing_error",
    "read_value",
    "rename_model_locs",
    "validate_group",
    "validate_present",
]

Errors = list[dict[str, Any]]


def missing_error(loc: tuple[str | int, ...]) -> dict[str, Any]:
    """FastAPI's error for a required value that is not in the request."""
    return {"type": "missing", "loc": loc, "msg": "Field required", "input": None}


def read_value(field: ParamField, source: Mapping[str, Any], key: str | None = None) -> Any:
    """The raw value of ``field`` in ``source``, or ``None`` when it counts as missing."""
    key = key or field.key
    if field.is_sequence and hasattr(source, "getlist"):
        value: Any = source.getlist(key)
        return value if value else None
    value = source.get(key)
    if value is None:
        return None
    if field.is_form and value == "" and isinstance(value, str):
        return None
    if field.is_sequence and len(value) == 0:
        return None
    return value


def validate_present(
    field: ParamField, value: Any, loc: tuple[str | int, ...], errors: Errors
) -> Any:
    """Validate ``value`` (``None`` = missing) and append any errors; return the value."""
    if value is None:
        if field.required:
            errors.append(missing_error(loc))
            return None
        return field.get_default()
    result, new_errors = field.validate(value, loc)
    if new_errors:
        errors.extend(new_errors)
    return result


def collect_model_values(
    group: ParamField, source: Mapping[str, Any], *, with_extras: bool
) -> dict[str, Any] | None:
    """The dict a parameter model is validated from, or ``None`` if none of its fields is there.

    With ``with_extras`` (the model is the location's only parameter), keys
    the model does not declare are passed on too, so that a model with
    ``extra="forbid"`` reports them.
    """
    values: dict[str, Any] = {}
    looked_up: set[str] = set()
    for field in group.model_fields:
        value = read_value(field, source)
        if value is not None:
            values[field.alias] = value
        looked_up.add(field.key)
    if not values and not group.required:
        return None
    if not with_extras:
        return values
    getlist = getattr(source, "getlist", None)
    for key in source:
        if key in looked_up or key in values:
            continue
        if getlist is not None:
            all_values = getlist(key)
            values[key] = all_values[0] if len(all_values) == 1 else all_values
        else:
            values[key] = source[key]
    return values


def rename_model_locs(group: ParamField, errors: Errors, start: int) -> None:
    # Errors name a header model's fields as the client sent them ("save-data").
    renamed = {f.alias: f.lookup_key for f in group.model_fields if f.lookup_key}
    if not renamed:
        return
    for error in errors[start:]:
        loc = error["loc"]
        if len(loc) > 1 and loc[1] in renamed:
            error["loc"] = (loc[0], renamed[loc[1]], *loc[2:])


def validate_group(
    fields: Sequence[ParamField], source: Mapping[str, Any], location: str, errors: Errors
) -> dict[str, Any]:
    """Read and validate the parameters of one location (``"query"``, ``"header"``, ...).

    A pydantic-model parameter is a parameter model: it is validated as a
    whole from its fields' values, errors located at ``[location, field]``.
    Other parameters are validated each on its own, errors at
    ``[location, alias]``.

    Returns:
        The validated values by parameter name (parameters with errors left out).
    """
    values: dict[str, Any] = {}
    for field in fields:
        before = len(errors)
        if field.model_fields:
            raw = collect_model_values(field, source, with_extras=len(fields) == 1)
            value = validate_present(field, raw, (location,), errors)
            rename_model_locs(field, errors, before)
        else:
            value = validate_present(field, read_value(field, source), (location, field.alias), errors)
        if len(errors) == before:
            values[field.name] = value
    return values
