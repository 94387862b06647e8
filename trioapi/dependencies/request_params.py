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

from trioapi.datastructures import FormData, UploadFile
from trioapi.dependencies.fields import models_of, strip_annotated
from trioapi.dependencies.models import ParamField

__all__ = [
    "collect_model_values",
    "extras_of",
    "missing_error",
    "read_value",
    "rename_model_locs",
    "select_key",
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
    is_form = field.is_form or isinstance(source, FormData)
    if field.is_sequence and hasattr(source, "getlist"):
        value: Any = source.getlist(key)
        if is_form:
            value = [item for item in value if not _is_empty_file(item)]
        return value if value else None
    value = source.get(key)
    if value is None:
        return None
    # A browser sends an empty field, or an empty file part when no file was
    # chosen: in a form both count as missing (the fields of a form model too).
    if is_form and ((value == "" and isinstance(value, str)) or _is_empty_file(value)):
        return None
    if field.is_sequence and len(value) == 0:
        return None
    return value


def _is_empty_file(value: Any) -> bool:
    return isinstance(value, UploadFile) and value.filename == "" and value.size == 0


def validate_present(
    field: ParamField, value: Any, loc: tuple[str | int, ...], errors: Errors
) -> Any:
    """Validate ``value`` (``None`` = missing) and append any errors; return the value."""
    if value is None:
        if field.required:
            errors.append(missing_error(loc))
            return None
        if not field.field_info.validate_default or field.adapter is None:
            return field.get_default()
        value = field.get_default()
    result, new_errors = field.validate(value, loc)
    if new_errors:
        errors.extend(new_errors)
    return result


def select_key(field: ParamField, source: Mapping[str, Any]) -> tuple[str, str]:
    """The ``(validation key, request key)`` pair to read: the first the request has.

    With ``AliasChoices`` the first choice present wins, even when its value
    is invalid; when none is present, the first (and errors name it).
    """
    for pair in field.aliases:
        if pair[1] in source:
            return pair
    return field.aliases[0] if field.aliases else (field.alias, field.key)


def extras_of(source: Mapping[str, Any], taken: set[str]) -> dict[str, Any]:
    """The keys of ``source`` no field took, a repeated key as a list of its values."""
    items = getattr(source, "multi_items", None) or getattr(source, "items")  # noqa: B009
    if not hasattr(source, "getlist"):
        return {key: source[key] for key in source if key not in taken}
    grouped: dict[str, list[Any]] = {}
    for key, value in items():
        if key not in taken:
            grouped.setdefault(key, []).append(value)
    return {key: values[0] if len(values) == 1 else values for key, values in grouped.items()}


def collect_model_values(
    group: ParamField, source: Mapping[str, Any], *, is_headers: bool = False
) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The dict a parameter model is validated from, and the header names to report.

    Each field is read under the first of its keys the request has; every
    key no field took is passed on as well, so that the model's own ``extra``
    policy decides (``ignore`` drops them, ``allow`` keeps them, ``forbid``
    reports them). An optional model (``Model | None``) counts as absent
    (``None``) when the request has none of its keys and, for a model that
    keeps or refuses extras, nothing at all.
    """
    values: dict[str, Any] = {}
    taken: set[str] = set()
    own: set[str] = set()
    header_names: dict[str, str] = {}
    for field in group.model_fields:
        own.update(key.lower() if is_headers else key for _, key in field.aliases)
        validation_key, request_key = select_key(field, source)
        value = read_value(field, source, request_key)
        if value is not None:
            values[validation_key] = value
        if is_headers:
            taken.add(request_key.lower())
            # An unconverted field name is not accepted as an extra header.
            taken.update(v.lower() for v, k in field.aliases if v != k)
            if validation_key != request_key:
                header_names[validation_key] = request_key
        else:
            taken.add(request_key)
    values.update(extras_of(source, taken))
    models = models_of(group.annotation)
    keeps_extras = any(m.model_config.get("extra") in ("allow", "forbid") for m in models)
    exact = len(models) == 1 and strip_annotated(group.annotation) is models[0]
    if not exact and not (own.intersection(source) or (keeps_extras and values)):
        return None, header_names
    return values, header_names


def rename_model_locs(
    group: ParamField, header_names: Mapping[str, str], errors: Errors, start: int
) -> None:
    """Errors name a header model's fields as the client sent them (``save-data``)."""
    if not header_names:
        return
    if not all(m.model_config.get("loc_by_alias", True) for m in models_of(group.annotation)):
        return
    for error in errors[start:]:
        loc = error["loc"]
        if len(loc) > 1 and loc[1] in header_names:
            error["loc"] = (loc[0], header_names[loc[1]], *loc[2:])


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
            raw, header_names = collect_model_values(field, source, is_headers=location == "header")
            value = validate_present(field, raw, (location,), errors)
            rename_model_locs(field, header_names, errors, before)
        else:
            _, key = select_key(field, source)
            value = validate_present(field, read_value(field, source, key), (location, key), errors)
        if len(errors) == before:
            values[field.name] = value
    return values
