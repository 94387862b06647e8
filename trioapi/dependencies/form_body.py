"""The model FastAPI documents a form body with when the form holds parameter models.

A form is flat: ``Annotated[Profile, Form()]`` reads ``name`` from the form
itself, not from a ``profile`` key. So the generated ``Body_<id>`` model
shows each plain form parameter as a property (under its request key) and
each form model as one entry of ``allOf``; a model whose fields go by other
keys than its schema's property names is shown inline with those keys (the
shared component schema stays as it is). An optional form model is absent
when none of its fields is sent; a required nullable one needs one of them.

This model only documents the body: the parameters are read and validated
one by one (``trioapi.dependencies.body``).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from functools import partial
from types import NoneType
from typing import Annotated, Any, get_args

from pydantic import AliasChoices, BaseModel, ConfigDict, GetJsonSchemaHandler, create_model
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from trioapi.dependencies.fields import models_of, strip_annotated
from trioapi.dependencies.form_unions import form_model_fields
from trioapi.dependencies.models import ParamField

__all__ = ["build_form_body_model", "form_models", "is_nullable_form_model"]


def form_models(param: ParamField) -> tuple[type[BaseModel], ...]:
    """The models of a form parameter read from the form's own fields, else ``()``."""
    if not (param.is_form and param.is_model) or getattr(param.field_info, "embed", False):
        return ()
    return models_of(param.annotation)


def is_nullable_form_model(param: ParamField) -> bool:
    """Whether ``param`` is a form model (or union of them) that may be ``None``."""
    return bool(form_models(param)) and NoneType in get_args(strip_annotated(param.annotation))


def build_form_body_model(fields: Sequence[ParamField], name: str) -> type[BaseModel]:
    """``Body_<id>``: one ``field_<i>`` per body parameter, reshaped into FastAPI's form schema."""
    definitions: dict[str, Any] = {}
    for index, param in enumerate(fields):
        key = f"field_{index}"
        info = copy.copy(param.field_info)
        info.alias = info.validation_alias = info.serialization_alias = key
        info.alias_priority = 2
        info.title = info.title or param.name.replace("_", " ").title()
        definitions[key] = (_documented_annotation(param), info)
    config = ConfigDict(json_schema_extra=partial(_reshape_body_schema, tuple(fields)))
    model: type[BaseModel] = create_model(name, __config__=config, **definitions)
    return model


def _documented_annotation(param: ParamField) -> Any:
    models = form_models(param)
    if len(models) != 1:
        return param.annotation
    model = models[0]
    schema = partial(_form_model_schema, model)
    documented: Any = Annotated[model, _JsonSchemaOf(schema)]
    return documented if strip_annotated(param.annotation) is model else documented | None


class _JsonSchemaOf:
    """``Annotated`` metadata that replaces a type's JSON schema with ``build(core, handler)``."""

    def __init__(self, build: Any) -> None:
        self._build = build

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        result: JsonSchemaValue = self._build(core_schema, handler)
        return result


def _form_model_schema(
    model: type[BaseModel], core_schema: CoreSchema, handler: GetJsonSchemaHandler
) -> JsonSchemaValue:
    """The model's schema, inlined with its request keys when they are not its property names."""
    schema = handler(core_schema)
    model_schema = handler.resolve_ref_schema(schema)
    properties = model_schema.get("properties", {})
    required = model_schema.get("required", [])
    keys_of: dict[str, list[str]] = {}
    for field in form_model_fields(model):
        given = field.field_info.validation_alias
        if isinstance(given, AliasChoices):
            shown: Any = given.choices[0]
        else:
            shown = given if isinstance(given, str) and given else field.field_info.alias
            shown = shown or field.name
        keys = [validation_key for validation_key, _ in field.aliases]
        renamed = keys[0] != shown or (len(keys) > 1 and shown in required)
        if isinstance(shown, str) and shown in properties and renamed:
            keys_of[shown] = keys
    if not keys_of:
        return schema
    inline = copy.deepcopy(model_schema)
    inline["properties"] = {keys_of.get(k, [k])[0]: v for k, v in properties.items()}
    inline["required"] = []
    for name in required:
        keys = keys_of.get(name, [name])
        if len(keys) == 1:
            inline["required"].append(keys[0])
        else:
            # Any one of the keys the field may come under.
            any_of = {"anyOf": [{"required": [key]} for key in keys]}
            inline.setdefault("allOf", []).append(any_of)
    return inline


def _reshape_body_schema(fields: tuple[ParamField, ...], schema: dict[str, Any]) -> None:
    """Plain parameters as properties (by request key), each form model as an ``allOf`` entry."""
    documented = schema.pop("properties")
    schema.pop("required", None)
    properties: dict[str, Any] = {}
    required: list[str] = []
    all_of: list[dict[str, Any]] = []
    for index, param in enumerate(fields):
        field_schema = documented[f"field_{index}"]
        if not form_models(param):
            key = param.aliases[0][0] if param.aliases else param.alias
            if key in properties:  # a second parameter read from the same key
                all_of.append({"properties": {key: field_schema}})
            else:
                properties[key] = field_schema
            if param.required and key not in required:
                required.append(key)
            continue
        field_schema.pop("default", None)
        if is_nullable_form_model(param):
            field_schema = _optional_group(param, field_schema, all_of)
        all_of.append(field_schema)
    if properties:
        schema["properties"] = properties
    if required:
        schema["required"] = required
    schema["allOf"] = all_of


def _optional_group(
    param: ParamField, field_schema: dict[str, Any], all_of: list[dict[str, Any]]
) -> dict[str, Any]:
    """A nullable form model: absent when none of its keys is sent (no ``null`` form)."""
    field_schema["anyOf"] = [
        choice for choice in field_schema.get("anyOf", []) if choice.get("type") != "null"
    ]
    models = form_models(param)
    absent: dict[str, Any]
    if any(model.model_config.get("extra") in ("allow", "forbid") for model in models):
        absent = {"maxProperties": 0}  # any key counts as this model's
    else:
        keys = sorted(
            {
                key
                for model in models
                for field in form_model_fields(model)
                for key, _ in field.aliases
            }
        )
        absent = {"not": {"anyOf": [{"required": [key]} for key in keys]}} if keys else {}
    if param.required:
        all_of.append({"not": absent})
        return field_schema
    return {"anyOf": [absent, field_schema]}
