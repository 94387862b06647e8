"""The request body: read once per request, validated per dependant.

At registration :func:`build_body_plan` decides whether the body is a form or
JSON and whether its parameters are embedded (``{"name": value}``), and, for
the common case of one JSON body parameter, keeps a validator that reads the
bytes directly (pydantic-core's JSON parser, no ``json.loads``). When that fast
path fails, the body is parsed and validated the slow way so the 422 errors
are exactly FastAPI's.
"""

from __future__ import annotations

import email.message
import functools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from trioapi._scopes import get_request_context
from trioapi._settings import Limits
from trioapi.datastructures import FormData, UploadFile
from trioapi.dependencies.fields import models_of
from trioapi.dependencies.form_body import form_models
from trioapi.dependencies.form_unions import collect_union_form
from trioapi.dependencies.models import Dependant, ParamField
from trioapi.dependencies.request_params import (
    Errors,
    collect_model_values,
    missing_error,
    read_value,
    validate_present,
)
from trioapi.exceptions import HTTPException, RequestValidationError
from trioapi.requests import Request

__all__ = [
    "BodyPlan",
    "ParsedBody",
    "build_body_plan",
    "read_body",
    "validate_body_params",
    "validate_json_body_params",
]

_NOT_PARSED: Any = object()

# A JSON string (escapes included) or one bracket; strings are matched whole
# so brackets inside them are not counted.
_JSON_NESTING_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')


@dataclass(frozen=True, slots=True)
class BodyPlan:
    """How a route reads its body, decided at registration.

    Attributes:
        fields: The body parameters of the whole dependency tree, each name once.
        embed: Read each parameter from ``{"alias": value}``.
        is_form: Read a form (URL-encoded or multipart) instead of JSON.
        fast_field: The lone JSON body parameter validated straight from bytes, if any.
        documented: The body parameters as FastAPI documents them: each
            dependency's own, even under a name met before (a repeated
            dependency once).
    """

    fields: tuple[ParamField, ...]
    embed: bool
    is_form: bool
    fast_field: ParamField | None
    documented: tuple[ParamField, ...] = ()


@dataclass(slots=True)
class ParsedBody:
    """The body of one request: the parsed value, and the fast path's result.

    ``absent``: the request had no body at all (``value`` is then ``None``,
    as for a JSON ``null``, which embedded parameters refuse). ``is_form``:
    ``value`` is the request's ``FormData``.
    """

    value: Any = None
    validated: Any = _NOT_PARSED
    raw: bytes = b""
    absent: bool = False
    is_form: bool = False

    @property
    def for_error(self) -> Any:
        """The body as ``RequestValidationError.body`` carries it: the parsed value."""
        if self.value is _NOT_PARSED:
            return json.loads(self.raw)
        return self.value

    @property
    def has_validated(self) -> bool:
        """Whether the fast path already produced the lone parameter's value."""
        return self.validated is not _NOT_PARSED


def _should_embed(fields: Sequence[ParamField]) -> bool:
    if len({field.name for field in fields}) > 1:
        return True
    first = fields[0]
    # Dependencies may each read a form model under the same parameter name.
    if form_models(first) and any(
        not form_models(field) or field.annotation is not first.annotation for field in fields[1:]
    ):
        return True
    if getattr(first.field_info, "embed", None):
        return True
    return first.is_form and not first.is_model


def _has_strict(schema: Any) -> bool:
    # Strict validation differs between JSON and Python input (a strict
    # datetime accepts a JSON string), so such bodies take the slow path.
    if isinstance(schema, dict):
        if schema.get("strict") is True:
            return True
        return any(_has_strict(value) for value in schema.values())
    if isinstance(schema, list | tuple):
        return any(_has_strict(item) for item in schema)
    return False


def build_body_plan(root: Dependant) -> BodyPlan | None:
    """Decide how a route reads its body; ``None`` when it has no body parameters."""
    fields = root.flat_body_params()
    if not fields:
        return None
    documented = _documented_body_params(root)
    embed = _should_embed(documented)
    is_form = any(field.is_form for field in fields)
    owners = [d for d in root.iter_tree() if d.body_params]
    fast_field = None
    if not embed and not is_form and len(owners) == 1 and len(owners[0].body_params) == 1:
        candidate = fields[0]
        if candidate.adapter is not None and not _has_strict(candidate.adapter.core_schema):
            fast_field = candidate
    return BodyPlan(tuple(fields), embed, is_form, fast_field, documented)


def _documented_body_params(root: Dependant) -> tuple[ParamField, ...]:
    seen: set[tuple[Any, str]] = set()
    documented: list[ParamField] = []
    for dependant in root.iter_tree():
        for param in dependant.body_params:
            key = (dependant.cache_key, param.name)
            if key not in seen:
                seen.add(key)
                documented.append(param)
    return tuple(documented)


# Cached: parsing the header with email.message costs more than validating
# a small body, and clients send the same few values.
@functools.lru_cache(maxsize=64)
def _is_json_content_type(content_type: str | None, strict: bool) -> bool:
    if not content_type:
        return not strict
    message = email.message.Message()
    message["content-type"] = content_type
    if message.get_content_maintype() != "application":
        return False
    subtype = message.get_content_subtype()
    return subtype == "json" or subtype.endswith("+json")


def json_depth_exceeds(body: bytes, limit: int) -> bool:
    """Whether arrays/objects in ``body`` nest deeper than ``limit``.

    Linear in the body, and nearly free for ordinary bodies: unless the body
    holds more than ``limit`` opening brackets it cannot nest deeper.
    """
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    for match in _JSON_NESTING_TOKEN.finditer(body):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        elif token in (b"]", b"}"):
            depth -= 1
    return False


def _json_too_deep(body: bytes, limit: int) -> RequestValidationError:
    error = {
        "type": "json_invalid",
        "loc": ("body", 0),
        "msg": "JSON decode error",
        "input": {},
        "ctx": {"error": f"JSON nesting is deeper than the limit of {limit} levels"},
    }
    return RequestValidationError([error], body=body)


def _json_invalid(exc: json.JSONDecodeError) -> RequestValidationError:
    error = {
        "type": "json_invalid",
        "loc": ("body", exc.pos),
        "msg": "JSON decode error",
        "input": {},
        "ctx": {"error": exc.msg},
    }
    return RequestValidationError([error], body=exc.doc)


async def _read_form(request: Request) -> FormData:
    form = await request.form()
    context = get_request_context(request.scope)
    if context is not None:
        # Uploads must stay open through background tasks; the middleware
        # scope closes them last.
        context.add_cleanup(form.close)
    return form


async def read_body(request: Request, plan: BodyPlan, limits: Limits) -> ParsedBody:
    """Read and parse the body as FastAPI does. A checkpoint (waits for the body).

    ``limits`` are the request's settings (the app's, with its route's over
    them): ``strict_content_type`` and ``max_json_depth`` apply here.

    Raises:
        RequestValidationError: malformed JSON (``json_invalid`` at ``["body", pos]``),
            or JSON nested deeper than ``limits.max_json_depth``.
        HTTPException: 400 when the body cannot be parsed at all (bad multipart).
    """
    try:
        if plan.is_form:
            return ParsedBody(await _read_form(request), is_form=True)
        body = await request.body()
        if not body:
            return ParsedBody(None, absent=True)
        strict = limits.strict_content_type
        if not _is_json_content_type(request.headers.get("content-type"), strict):
            return ParsedBody(body)
        # Deep nesting costs recursion in both JSON parsers (and a RecursionError
        # far past the limit): refuse it before parsing.
        depth_limit = limits.max_json_depth
        if depth_limit is not None and json_depth_exceeds(body, depth_limit):
            raise _json_too_deep(body, depth_limit)
        if plan.fast_field is not None:
            parsed = _validate_fast(plan.fast_field, body)
            if parsed is not None:
                return parsed
        return ParsedBody(json.loads(body))
    except json.JSONDecodeError as exc:
        raise _json_invalid(exc) from exc
    except (HTTPException, RequestValidationError):
        raise
    except Exception as exc:
        raise HTTPException(400, "There was an error parsing the body") from exc


def _validate_fast(field: ParamField, body: bytes) -> ParsedBody | None:
    """Validate JSON bytes directly; ``None`` means "take the slow path"."""
    if field.adapter is None:
        return None
    try:
        value = field.adapter.validator.validate_json(body)
    except ValidationError:
        return None  # the slow path reports FastAPI's exact errors
    if value is None:
        return None  # JSON null: the slow path validates it as None, with FastAPI's errors
    return ParsedBody(_NOT_PARSED, value, body)


async def _read_file_values(field: ParamField, value: Any) -> Any:
    if not field.is_bytes_file:
        return value
    if isinstance(value, UploadFile):
        return await _read_keeping_position(value)
    if isinstance(value, list):
        return [
            await _read_keeping_position(item) if isinstance(item, UploadFile) else item
            for item in value
        ]
    return value


async def _read_keeping_position(upload: UploadFile) -> bytes:
    # The same upload may also reach another parameter (an UploadFile, or a
    # dependency's form model): reading it for bytes must not consume it.
    position = upload.file.tell()
    try:
        return await upload.read()
    finally:
        await upload.seek(position)


async def _validate_form(
    fields: Sequence[ParamField], form: FormData, errors: Errors
) -> dict[str, Any]:
    """Validate form parameters: model parameters from their fields, others by name.

    A model (or union of models) declared with ``Form()`` reads its fields
    from the whole form, its errors located at ``["body", ...]``; a plain
    field is read under its alias, its errors at ``["body", alias]``.
    """
    values: dict[str, Any] = {}
    for field in fields:
        before = len(errors)
        if field.model_fields:
            if len(models_of(field.annotation)) > 1:
                raw = collect_union_form(field, form)
            else:
                raw, _ = collect_model_values(field, form)
            value = validate_present(field, raw, ("body",), errors)
        else:
            raw = await _read_file_values(field, read_value(field, form))
            value = validate_present(field, raw, ("body", field.alias), errors)
        if len(errors) == before:
            values[field.name] = value
    return values


async def validate_body_params(
    fields: Sequence[ParamField], body: ParsedBody, embed: bool, errors: Errors
) -> dict[str, Any]:
    """Validate one dependant's body parameters against the parsed body. A checkpoint for forms.

    Returns:
        The validated values by parameter name (parameters with errors left out).
    """
    if isinstance(body.value, FormData):
        return await _validate_form(fields, body.value, errors)
    return validate_json_body_params(fields, body, embed, errors)


def validate_json_body_params(
    fields: Sequence[ParamField], body: ParsedBody, embed: bool, errors: Errors
) -> dict[str, Any]:
    """:func:`validate_body_params` for a body that is not a form, which never waits."""
    first = fields[0]
    single = len(fields) == 1 and not embed
    if single and body.has_validated:
        return {first.name: body.validated}
    to_process = body.value
    values: dict[str, Any] = {}
    if single:
        before = len(errors)
        if body.absent:
            value = validate_present(first, None, ("body",), errors)
        else:
            # A body that is there is validated as it is: JSON null is the
            # value None, not "missing" (as in FastAPI 0.163).
            value, new_errors = first.validate(to_process, ("body",))
            errors.extend(new_errors)
        if len(errors) == before:
            values[first.name] = value
        return values
    for field in fields:
        loc: tuple[str, ...] = ("body", field.alias)
        before = len(errors)
        if not body.absent and not isinstance(to_process, dict | bytes):
            # Embedded parameters need an object, not a list, a scalar or null.
            errors.append(missing_error(loc))
            continue
        # A body that is not JSON (bytes) has none of the keys.
        present = _present_key(field, to_process) if isinstance(to_process, dict) else None
        if present is None:
            value = validate_present(field, None, loc, errors)
        else:
            # A key that is there is validated as it is, null included, as
            # FastAPI does: an explicit null is not "missing".
            loc = ("body", present)
            value, new_errors = field.validate(to_process[present], loc)
            errors.extend(new_errors)
        if len(errors) == before:
            values[field.name] = value
    return values


def _present_key(field: ParamField, body: dict[str, Any]) -> str | None:
    for _, key in field.aliases or ((field.alias, field.alias),):
        if key in body:
            return key
    return None
