"""Type questions asked once at registration, and the ParamFields built from the answers.

FastAPI decides where an undeclared parameter comes from by its type: scalars
(``str``, ``int``, enums, dates, ...) are query parameters, anything complex
(models, lists, dicts, dataclasses) is the body, ``UploadFile`` is a file.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections import deque
from collections.abc import Mapping, Sequence
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import AliasChoices, AliasPath, BaseModel, Json, TypeAdapter
from pydantic.fields import FieldInfo

from trioapi import params
from trioapi.datastructures import UploadFile
from trioapi.dependencies.models import ParamField, ParamSource

__all__ = [
    "Aliases",
    "param_aliases",
    "strip_annotated",
    "build_model_fields",
    "build_param_field",
    "is_model_class",
    "is_union",
    "model_of",
    "models_of",
    "is_scalar",
    "is_scalar_sequence",
    "is_sequence",
    "is_upload_file",
]

_SEQUENCE_TYPES: tuple[type[Any], ...] = (list, set, tuple, frozenset, deque, Sequence)


def _is_json_marker(meta: Any) -> bool:
    return meta is Json or type(meta) is Json


def strip_annotated(annotation: Any) -> Any:
    """``annotation`` without ``Annotated[...]`` (``str`` for a ``Json[...]`` value)."""
    while get_origin(annotation) is Annotated:
        base, *metadata = get_args(annotation)
        if any(_is_json_marker(meta) for meta in metadata):
            # ``Json[list[str]]`` arrives as one JSON string, whatever it holds.
            return str
        annotation = base
    return annotation


def is_union(annotation: Any) -> bool:
    """Whether ``annotation`` is a ``Union`` or ``X | Y``."""
    origin = get_origin(annotation)
    return origin is Union or origin is UnionType


def _subclass_of(annotation: Any, bases: type[Any] | tuple[type[Any], ...]) -> bool:
    return inspect.isclass(annotation) and issubclass(annotation, bases)


def is_model_class(annotation: Any) -> bool:
    """Whether ``annotation`` is a pydantic model class (through ``Annotated``)."""
    return _subclass_of(strip_annotated(annotation), BaseModel)


def models_of(annotation: Any) -> tuple[type[BaseModel], ...]:
    """The pydantic models of a parameter model annotation, or ``()`` if it is not one.

    ``Model``, ``Model | None`` and unions of models (``Person | Company``,
    optionally ``| None``) are parameter models: their fields are read from
    the request location as if declared one by one.
    """
    annotation = strip_annotated(annotation)
    members = get_args(annotation) if is_union(annotation) else (annotation,)
    models = tuple(strip_annotated(m) for m in members if m is not type(None))
    if models and all(_subclass_of(model, BaseModel) for model in models):
        return models
    return ()


def model_of(annotation: Any) -> type[BaseModel] | None:
    """The first pydantic model of a parameter model annotation, else ``None``."""
    models = models_of(annotation)
    return models[0] if models else None


def _is_sequence_type(annotation: Any) -> bool:
    if _subclass_of(annotation, (str, bytes)):
        return False
    return _subclass_of(annotation, _SEQUENCE_TYPES) or _subclass_of(
        get_origin(annotation), _SEQUENCE_TYPES
    )


def is_sequence(annotation: Any) -> bool:
    """Whether values of ``annotation`` are read as every value of a repeated key."""
    annotation = strip_annotated(annotation)
    if is_union(annotation):
        return any(is_sequence(arg) for arg in get_args(annotation))
    return _is_sequence_type(annotation)


def _is_complex_type(annotation: Any) -> bool:
    return (
        _subclass_of(annotation, (BaseModel, Mapping, UploadFile))
        or _is_sequence_type(annotation)
        or (inspect.isclass(annotation) and dataclasses.is_dataclass(annotation))
    )


def _is_complex(annotation: Any) -> bool:
    annotation = strip_annotated(annotation)
    if is_union(annotation):
        return any(_is_complex(arg) for arg in get_args(annotation))
    origin = get_origin(annotation)
    return (
        _is_complex_type(annotation)
        or _is_complex_type(origin)
        or hasattr(origin, "__pydantic_core_schema__")
        or hasattr(origin, "__get_pydantic_core_schema__")
    )


def is_scalar(annotation: Any) -> bool:
    """Whether ``annotation`` is a single value a query string or header can carry."""
    return annotation is Ellipsis or not _is_complex(annotation)


def is_scalar_sequence(annotation: Any) -> bool:
    """Whether ``annotation`` is a sequence of scalars (``list[int]``, ``set[str] | None``)."""
    annotation = strip_annotated(annotation)
    if is_union(annotation):
        found = False
        for arg in get_args(annotation):
            if is_scalar_sequence(arg):
                found = True
            elif not is_scalar(arg):
                return False
        return found
    return _is_sequence_type(annotation) and all(is_scalar(arg) for arg in get_args(annotation))


def is_upload_file(annotation: Any) -> bool:
    """``UploadFile``, optionally in a union or a sequence: a parameter read as a file."""
    annotation = strip_annotated(annotation)
    if is_union(annotation):
        return any(is_upload_file(arg) for arg in get_args(annotation))
    if _subclass_of(annotation, UploadFile):
        return True
    return _is_sequence_type(annotation) and any(is_upload_file(a) for a in get_args(annotation))


def _is_bytes(annotation: Any) -> bool:
    annotation = strip_annotated(annotation)
    if is_union(annotation):
        return any(_is_bytes(arg) for arg in get_args(annotation))
    if annotation is bytes:
        return True
    return _is_sequence_type(annotation) and any(_is_bytes(a) for a in get_args(annotation))


def _source_of(field_info: FieldInfo) -> ParamSource:
    if isinstance(field_info, params.Param):
        return field_info.in_.value
    return "body"


def request_alias(name: str, field_info: FieldInfo, *, convert_underscores: bool = False) -> str:
    """The key a parameter is read from: validation alias, alias, or name (headers dashed)."""
    if isinstance(field_info.validation_alias, str) and field_info.validation_alias:
        return field_info.validation_alias
    if field_info.alias:
        return field_info.alias
    if convert_underscores:
        return name.replace("_", "-")
    return name


Aliases = tuple[tuple[str, str], ...]


def param_aliases(
    name: str,
    field_info: FieldInfo,
    *,
    alias: str | None = None,
    convert_underscores: bool = False,
    config: Mapping[str, Any] | None = None,
) -> Aliases:
    """``(validation key, request key)`` pairs a value may come under, preferred first.

    FastAPI's rules: the validation alias, else the alias, else the name
    (dashed for a header when ``convert_underscores``); with
    ``validation_alias=AliasChoices("a", "b")`` of plain names, each choice,
    literally; a model that validates by name also takes its field names.
    ``AliasPath`` choices are not request keys: they are left out.
    """
    declared = field_info.alias if alias is None else alias
    given = field_info.validation_alias
    key = given if isinstance(given, str) and given else (declared or name)
    request_key = key.replace("_", "-") if convert_underscores and key == name else key
    pairs = [(key, request_key)]
    if isinstance(field_info, params.Path) or isinstance(given, AliasPath):
        return tuple(pairs)
    if isinstance(given, AliasChoices):
        choices = given.choices
        if not all(isinstance(choice, str) for choice in choices):
            return tuple(pairs)
        pairs = [(str(choice), str(choice)) for choice in choices]
    config = config or {}
    by_name = config.get("validate_by_name", config.get("populate_by_name", False))
    if config.get("validate_by_alias") is False or by_name:
        request_name = name.replace("_", "-") if convert_underscores else name
        if config.get("validate_by_alias") is False:
            return ((name, request_name),)
        if name not in [validation for validation, _ in pairs]:
            pairs.append((name, request_name))
    return tuple(pairs)


def build_param_field(name: str, annotation: Any, field_info: FieldInfo) -> ParamField:
    """Describe one declared parameter and build its validator.

    Args:
        name: The Python parameter name.
        annotation: Its type, with non-trioapi ``Annotated`` metadata kept.
        field_info: Its ``trioapi.params`` declaration (default included).
    """
    convert = bool(getattr(field_info, "convert_underscores", False))
    adapter: TypeAdapter[Any] = TypeAdapter(Annotated[annotation, field_info])
    is_file = isinstance(field_info, params.File)
    declared = field_info.alias or (name.replace("_", "-") if convert else name)
    aliases = param_aliases(name, field_info, alias=declared)
    param = ParamField(
        name=name,
        alias=aliases[0][1],
        aliases=aliases,
        source=_source_of(field_info),
        field_info=field_info,
        annotation=annotation,
        required=field_info.is_required(),
        adapter=adapter,
        is_sequence=is_sequence(annotation),
        is_model=bool(models_of(annotation)),
        is_form=isinstance(field_info, params.Form),
        is_file=is_file,
        is_bytes_file=is_file and _is_bytes(annotation),
    )
    if param.is_model and (param.source != "body" or param.is_form):
        param.model_fields = build_model_fields(param, convert_underscores=convert)
    return param


def build_model_fields(group: ParamField, *, convert_underscores: bool) -> tuple[ParamField, ...]:
    """The fields of a parameter model (``Annotated[Filters, Query()]``), each read on its own.

    Header models read ``save_data`` from ``save-data`` unless the ``Header()``
    on the model says ``convert_underscores=False``.
    """
    fields: dict[str, ParamField] = {}
    for model in models_of(group.annotation):
        for name, info in model.model_fields.items():
            field = _model_field(group, name, info, convert_underscores, model)
            fields.setdefault(field.alias, field)
    return tuple(fields.values())


def _model_field(
    group: ParamField, name: str, info: FieldInfo, convert_underscores: bool, model: type[BaseModel]
) -> ParamField:
    convert = group.source == "header" and getattr(info, "convert_underscores", convert_underscores)
    annotation = info.annotation
    plain = not (
        _subclass_of(annotation, (BaseModel, dict)) or dataclasses.is_dataclass(annotation)
    )
    # FastAPI reads validate_by_name from the model's config, except for
    # fields that are themselves models, dicts or dataclasses.
    aliases = param_aliases(
        name, info, convert_underscores=convert, config=model.model_config if plain else None
    )
    validation_key, request_key = aliases[0]
    return ParamField(
        name=name,
        alias=validation_key,
        aliases=aliases,
        lookup_key=request_key if request_key != validation_key else None,
        source=group.source,
        field_info=info,
        annotation=info.annotation,
        required=info.is_required(),
        adapter=None,
        is_sequence=is_sequence(info.annotation),
        is_form=isinstance(info, params.Form),
        is_file=isinstance(info, params.File),
        is_bytes_file=isinstance(info, params.File) and _is_bytes(info.annotation),
    )
