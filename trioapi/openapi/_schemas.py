"""The JSON Schemas of an OpenAPI document, generated in one pydantic pass.

Every schema the document shows (parameters, request bodies, responses) is
registered first as a :class:`SchemaField`; then one ``GenerateJsonSchema``
run produces all of them together, so models used in several places become
one shared component under ``#/components/schemas/`` and pydantic resolves
name clashes (``-Input``/``-Output`` for models whose validation and
serialization schemas differ).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import TypeAdapter
from pydantic.fields import FieldInfo
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

from trioapi.dependencies.models import ParamField
from trioapi.openapi.constants import REF_PREFIX, REF_TEMPLATE

__all__ = [
    "VALIDATION_ERROR_DEFINITIONS",
    "SchemaField",
    "SchemaRegistry",
    "field_title",
]

VALIDATION_ERROR_DEFINITIONS: dict[str, dict[str, Any]] = {
    "ValidationError": {
        "title": "ValidationError",
        "type": "object",
        "properties": {
            "loc": {
                "title": "Location",
                "type": "array",
                "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
            },
            "msg": {"title": "Message", "type": "string"},
            "type": {"title": "Error Type", "type": "string"},
            "input": {"title": "Input"},
            "ctx": {"title": "Context", "type": "object"},
        },
        "required": ["loc", "msg", "type"],
    },
    "HTTPValidationError": {
        "title": "HTTPValidationError",
        "type": "object",
        "properties": {
            "detail": {
                "title": "Detail",
                "type": "array",
                "items": {"$ref": f"{REF_PREFIX}ValidationError"},
            }
        },
    },
}
"""The components every document with a validated route carries (FastAPI's exact shapes)."""


class _SchemaGenerator(GenerateJsonSchema):
    """pydantic's generator, with bytes shown as OpenAPI 3.1 binary strings.

    OpenAPI 3.1 describes raw bytes with ``contentMediaType`` rather than
    ``format: binary``; models that read or write bytes as base64 in JSON
    say so with ``contentEncoding``.
    """

    def bytes_schema(self, schema: core_schema.BytesSchema) -> JsonSchemaValue:
        """A string of bytes: ``application/octet-stream``, base64 when the model says so."""
        json_schema: JsonSchemaValue = {
            "type": "string",
            "contentMediaType": "application/octet-stream",
        }
        config = self._config
        encoding = config.val_json_bytes if self.mode == "validation" else config.ser_json_bytes
        if encoding == "base64":
            json_schema["contentEncoding"] = "base64"
        self.update_with_validations(json_schema, schema, self.ValidationsMapping.bytes)
        return json_schema


@dataclass(eq=False)
class SchemaField:
    """One schema the document shows: a core schema, the mode to read it in, its title.

    Attributes:
        core_schema: pydantic's core schema of the value.
        mode: ``"validation"`` for what the client sends, ``"serialization"``
            for what the server answers.
        title: The ``title`` set on the schema when it is not a ``$ref``.
    """

    core_schema: CoreSchema
    mode: JsonSchemaMode
    title: str


def field_title(alias: str, field_info: FieldInfo) -> str:
    """The title FastAPI gives a field's schema: its ``title``, else its alias title-cased.

    The alias is the key the value is read under, so a header declared as
    ``user_agent`` is titled ``User-Agent``.
    """
    if field_info.title:
        return field_info.title
    return alias.title().replace("_", " ")


_ALIAS_ATTRIBUTES = ("alias", "alias_priority", "validation_alias", "serialization_alias")


def _without_aliases(info: FieldInfo) -> FieldInfo:
    # A model field's aliases mean nothing outside its model (pydantic warns
    # when they reach a TypeAdapter); the parameter is named by its key anyway.
    if not any(getattr(info, name, None) is not None for name in _ALIAS_ATTRIBUTES):
        return info
    bare = copy.copy(info)
    for name in _ALIAS_ATTRIBUTES:
        setattr(bare, name, None)
    # _attributes_set is what pydantic reads to decide to warn.
    bare._attributes_set = {
        key: value for key, value in info._attributes_set.items() if key not in _ALIAS_ATTRIBUTES
    }
    return bare


def _has_computed_fields(schema: Any) -> bool:
    """Whether a model with ``@computed_field`` appears anywhere in a core schema."""
    if isinstance(schema, dict):
        if schema.get("computed_fields"):
            return True
        return any(_has_computed_fields(value) for value in schema.values())
    if isinstance(schema, list | tuple):
        return any(_has_computed_fields(item) for item in schema)
    return False


def _param_core_schema(param: ParamField) -> CoreSchema:
    if param.adapter is not None:
        return param.adapter.core_schema
    annotated: Any = Annotated[param.annotation, _without_aliases(param.field_info)]
    adapter: TypeAdapter[Any] = TypeAdapter(annotated)
    return adapter.core_schema


@dataclass
class SchemaRegistry:
    """Collects the fields of a document, then generates all their schemas at once.

    Look-ups are keyed on the identity of the source object (a ``ParamField``,
    a ``TypeAdapter``) and a role, so the pass that collects and the pass that
    builds operations see the same :class:`SchemaField`.

    Attributes:
        separate_input_output_schemas: Read responses in serialization mode;
            when false every schema is read in validation mode.
    """

    separate_input_output_schemas: bool = True
    _fields: dict[tuple[int, str], tuple[Any, SchemaField]] = field(default_factory=dict)
    _mapping: dict[tuple[int, JsonSchemaMode], JsonSchemaValue] | None = None
    definitions: dict[str, JsonSchemaValue] = field(default_factory=dict)

    def _register(self, source: Any, role: str, build: Any) -> SchemaField:
        key = (id(source), role)
        found = self._fields.get(key)
        if found is None:
            found = (source, build())
            self._fields[key] = found
        return found[1]

    def _mode(self, mode: Literal["validation", "serialization"]) -> JsonSchemaMode:
        return mode if self.separate_input_output_schemas else "validation"

    def param(self, param: ParamField) -> SchemaField:
        """The field of a request parameter or body parameter (validation mode)."""
        return self._register(
            param,
            "param",
            lambda: SchemaField(
                _param_core_schema(param), "validation", field_title(param.alias, param.field_info)
            ),
        )

    def response(self, adapter: TypeAdapter[Any], name: str) -> SchemaField:
        """The field of a response body, titled from ``name`` (``Response_<unique_id>``)."""
        return self._register(
            adapter,
            f"response:{name}",
            lambda: SchemaField(
                adapter.core_schema,
                self._response_mode(adapter.core_schema),
                name.title().replace("_", " "),
            ),
        )

    def _response_mode(self, schema: CoreSchema) -> JsonSchemaMode:
        # As FastAPI: even without separate input/output schemas, a response
        # whose models have computed fields is documented as it is sent (the
        # computed fields are read-only outputs, absent from the input).
        if self.separate_input_output_schemas or _has_computed_fields(schema):
            return "serialization"
        return "validation"

    def generate(self) -> None:
        """Generate every registered schema and the shared definitions, in one pass."""
        generator = _SchemaGenerator(ref_template=REF_TEMPLATE)
        inputs = [
            (id(schema_field), schema_field.mode, schema_field.core_schema)
            for _, schema_field in self._fields.values()
        ]
        mapping, definitions = generator.generate_definitions(inputs=inputs)
        self._mapping = mapping
        self.definitions = {str(name): value for name, value in definitions.items()}
        for definition in self.definitions.values():
            description = definition.get("description")
            if isinstance(description, str) and "\f" in description:
                # As FastAPI: a form feed ends the part of a docstring meant for the docs.
                definition["description"] = description.split("\f")[0]

    def schema(self, schema_field: SchemaField) -> dict[str, Any]:
        """The JSON Schema of a registered field (after :meth:`generate`), titled unless a ref."""
        if self._mapping is None:
            raise RuntimeError("SchemaRegistry.schema() called before generate()")
        json_schema = dict(self._mapping[(id(schema_field), schema_field.mode)])
        if "$ref" not in json_schema:
            json_schema["title"] = schema_field.title
        return json_schema
