"""Response models: which type a route returns, and its serializer built once.

At registration, :func:`resolve_response_model` applies FastAPI's rule for
turning a return annotation into the ``response_model``, and
:func:`build_response_serializer` compiles one pydantic ``TypeAdapter`` for it.
Per request the serializer validates the endpoint's return value and writes
JSON bytes straight from pydantic-core. Routes without a model use
:func:`serialize_without_model`: ``jsonable_encoder`` plus the JSON options of
``JSONResponse``.
"""

from __future__ import annotations

import inspect
import json
import math
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Callable,
    Generator,
    Iterable,
    Iterator,
)
from typing import Any, get_origin

from pydantic import PydanticSchemaGenerationError, TypeAdapter, ValidationError

from trioapi._compat import uses_pydantic_v1
from trioapi.concurrency import run_in_threadpool
from trioapi.datastructures import DefaultPlaceholder
from trioapi.encoders import IncEx, jsonable_encoder
from trioapi.exceptions import PydanticV1NotSupportedError, ResponseValidationError, TrioAPIError
from trioapi.responses import Response

__all__ = [
    "ResponseSerializer",
    "build_response_serializer",
    "is_body_allowed_for_status_code",
    "resolve_response_model",
    "build_dump_options",
    "invalid_model_message",
    "serialize_stream_item",
    "serialize_without_model",
]

# OpenAPI's wildcard response keys: they may always carry a body.
_STATUS_RANGES = frozenset({"default", "1XX", "2XX", "3XX", "4XX", "5XX"})
_NO_BODY_STATUSES = frozenset({204, 205, 304})
_STREAM_ORIGINS = frozenset(
    {AsyncGenerator, AsyncIterable, AsyncIterator, Generator, Iterable, Iterator}
)


def is_body_allowed_for_status_code(status_code: int | str | None) -> bool:
    """Whether a response with ``status_code`` may have a body (HTTP and OpenAPI rules).

    ``None`` (not decided yet) and OpenAPI's ``"default"``/``"2XX"``-style keys
    allow one; 1xx, 204, 205 and 304 do not.
    """
    if status_code is None or status_code in _STATUS_RANGES:
        return True
    code = int(status_code)
    return code >= 200 and code not in _NO_BODY_STATUSES


def resolve_response_model(endpoint: Callable[..., Any], response_model: Any) -> Any:
    """The response model of a route, by FastAPI's rule.

    An explicit ``response_model`` wins, and ``None`` turns validation off.
    When it was not given (a ``DefaultPlaceholder``), the endpoint's return
    annotation is used, except that no model is used for: no annotation,
    ``-> None``, a ``Response`` subclass, or a generator endpoint annotated
    with an iterator type (it streams items instead).

    Args:
        endpoint: The path operation function.
        response_model: The decorator's ``response_model`` option.

    Returns:
        The type to validate against, or ``None`` for no model.
    """
    if not isinstance(response_model, DefaultPlaceholder):
        return response_model
    annotation = inspect.signature(endpoint, eval_str=True).return_annotation
    if annotation is inspect.Signature.empty or annotation is None or annotation is type(None):
        return None
    if inspect.isclass(annotation) and issubclass(annotation, Response):
        return None
    if _is_generator(endpoint) and get_origin(annotation) in _STREAM_ORIGINS:
        return None
    return annotation


def _is_generator(endpoint: Callable[..., Any]) -> bool:
    target = inspect.unwrap(endpoint)
    if not (inspect.isfunction(target) or inspect.ismethod(target)):
        # A callable instance: the __call__ its class defines is what runs.
        target = type(target).__call__
    return inspect.isgeneratorfunction(target) or inspect.isasyncgenfunction(target)


class ResponseSerializer:
    """Validates an endpoint's return value against a model and writes JSON bytes.

    Built once per route by :func:`build_response_serializer`; calling it is
    the per-request work.

    Attributes:
        response_model: The declared type.
        type_adapter: The pydantic adapter compiled for it (also usable for
            the OpenAPI schema).
    """

    __slots__ = (
        "_dump_options",
        "_in_thread",
        "_json_options",
        "_unchanged_type",
        "response_model",
        "type_adapter",
    )

    def __init__(
        self,
        response_model: Any,
        type_adapter: TypeAdapter[Any],
        dump_options: dict[str, Any],
        *,
        in_thread: bool,
    ) -> None:
        self.response_model = response_model
        self.type_adapter = type_adapter
        self._dump_options = dump_options
        # The options pydantic-core's serializer is called with: those that
        # differ from its defaults only (each keyword it parses costs).
        self._json_options = {
            name: value
            for name, value in dump_options.items()
            if value != _SERIALIZER_DEFAULTS[name]
        }
        self._in_thread = in_thread
        # A str or int comes out of validation and a JSON-mode dump as it went in.
        self._unchanged_type = response_model if response_model in (str, int) else None

    @property
    def in_thread(self) -> bool:
        """Whether the work runs in a worker thread (for a ``def`` endpoint)."""
        return self._in_thread

    async def __call__(self, value: Any) -> bytes:
        """Validate ``value`` and return it as JSON bytes.

        A checkpoint only when built with ``in_thread=True`` (the work then runs
        in a worker thread; cancellation abandons the wait, not the thread).

        Raises:
            ResponseValidationError: ``value`` does not match the model; the
                errors' ``loc`` starts with ``"response"``.
        """
        if self._in_thread:
            return await run_in_threadpool(self.serialize, value)
        return self.serialize(value)

    async def to_content(self, value: Any) -> Any:
        """Validate ``value`` and return JSON-compatible Python data.

        For routes whose ``response_class`` is not the default: the data is
        handed to that class, as FastAPI does. Checkpoint and errors as
        :meth:`__call__`.
        """
        if self._in_thread:
            return await run_in_threadpool(self.serialize_python, value)
        return self.serialize_python(value)

    def serialize(self, value: Any) -> bytes:
        """The synchronous work of :meth:`__call__`: validate, then dump JSON bytes.

        Calls pydantic-core's validator and serializer directly: what
        ``TypeAdapter.validate_python`` and ``dump_json`` call, without their
        frames and a dozen default keywords each.
        """
        adapter = self.type_adapter
        try:
            validated = adapter.validator.validate_python(value, from_attributes=True)
        except ValidationError as exc:
            raise _response_error(exc, value) from None
        return adapter.serializer.to_json(validated, **self._json_options)

    def serialize_python(self, value: Any) -> Any:
        """The synchronous work of :meth:`to_content`."""
        if type(value) is self._unchanged_type:
            return value
        validated = self.validate(value)
        return self.type_adapter.serializer.to_python(validated, mode="json", **self._json_options)

    def validate(self, value: Any) -> Any:
        """Validate ``value`` against the model; dataclasses and ORM objects by attribute.

        A returned instance of a subclass of the model validates as itself;
        the model's serializer then writes only the declared fields.

        Raises:
            ResponseValidationError: as :meth:`__call__`.
        """
        try:
            return self.type_adapter.validator.validate_python(value, from_attributes=True)
        except ValidationError as exc:
            raise _response_error(exc, value) from None


def _response_error(exc: ValidationError, value: Any) -> ResponseValidationError:
    errors = [
        {**error, "loc": ("response", *error["loc"])} for error in exc.errors(include_url=False)
    ]
    return ResponseValidationError(errors, body=value)


# pydantic-core's own defaults for the options build_dump_options() gives.
_SERIALIZER_DEFAULTS: dict[str, Any] = {
    "include": None,
    "exclude": None,
    "by_alias": None,
    "exclude_unset": False,
    "exclude_defaults": False,
    "exclude_none": False,
}


def build_response_serializer(
    response_model: Any,
    *,
    include: IncEx | None = None,
    exclude: IncEx | None = None,
    by_alias: bool = True,
    exclude_unset: bool = False,
    exclude_defaults: bool = False,
    exclude_none: bool = False,
    in_thread: bool = False,
) -> ResponseSerializer:
    """Compile the serializer of a route's ``response_model``, once, at registration.

    Args:
        response_model: Any type pydantic can validate: a model, ``RootModel``,
            dataclass, ``list[Item]``, ``dict[str, int]``, a union, ...
        include: ``response_model_include``.
        exclude: ``response_model_exclude``.
        by_alias: ``response_model_by_alias``.
        exclude_unset: ``response_model_exclude_unset``.
        exclude_defaults: ``response_model_exclude_defaults``.
        exclude_none: ``response_model_exclude_none``.
        in_thread: Validate in a worker thread, as FastAPI does for ``def``
            endpoints (reading ORM attributes may block).

    Returns:
        An async callable ``value -> bytes`` (see :class:`ResponseSerializer`).

    Raises:
        TrioAPIError: pydantic cannot build a schema for ``response_model``.
    """
    _reject_pydantic_v1(response_model)
    try:
        adapter: TypeAdapter[Any] = TypeAdapter(response_model)
    except PydanticSchemaGenerationError:
        raise TrioAPIError(invalid_model_message(response_model)) from None
    dump_options = build_dump_options(
        include=include,
        exclude=exclude,
        by_alias=by_alias,
        exclude_unset=exclude_unset,
        exclude_defaults=exclude_defaults,
        exclude_none=exclude_none,
    )
    return ResponseSerializer(response_model, adapter, dump_options, in_thread=in_thread)


def invalid_model_message(model: Any) -> str:
    """FastAPI's hint for a model pydantic cannot validate, naming the model."""
    return (
        f"Invalid response model {model!r}: it is not a valid Pydantic field type (pydantic "
        "cannot validate it). If the return annotation is not meant as a response model (for "
        "example 'Response | dict'), disable it with the path operation decorator parameter "
        "response_model=None."
    )


def build_dump_options(
    *,
    include: Any,
    exclude: Any,
    by_alias: bool,
    exclude_unset: bool,
    exclude_defaults: bool,
    exclude_none: bool,
) -> dict[str, Any]:
    """The ``dump_json`` keyword arguments for a route's ``response_model_*`` options."""
    return {
        "include": _as_spec(include),
        "exclude": _as_spec(exclude),
        "by_alias": by_alias,
        "exclude_unset": exclude_unset,
        "exclude_defaults": exclude_defaults,
        "exclude_none": exclude_none,
    }


def serialize_without_model(value: Any) -> bytes:
    """JSON bytes for a route without a response model, as ``JSONResponse`` writes them.

    ``jsonable_encoder(value)``, then ``json.dumps`` with ``ensure_ascii=False``,
    ``allow_nan=False`` and compact separators, UTF-8 encoded: byte for byte
    what FastAPI sends. The route's ``response_model_*`` options do not apply
    here, as in FastAPI.

    Raises:
        ValueError: ``value`` holds NaN or an infinity, or an object
            ``jsonable_encoder`` cannot read.
    """
    return json.dumps(
        jsonable_encoder(value),
        ensure_ascii=False,
        allow_nan=False,
        indent=None,
        separators=(",", ":"),
    ).encode("utf-8")


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value


def serialize_stream_item(value: Any) -> bytes:
    """JSON bytes for one untyped item of a stream (JSON Lines or ``data:`` of an event).

    As FastAPI: ``jsonable_encoder(value)``, NaN and the infinities sent as
    ``null`` (a stream cannot answer 500 once it has started), then
    ``json.dumps`` with its default separators.
    """
    return json.dumps(_finite(jsonable_encoder(value))).encode("utf-8")


def _as_spec(spec: Any) -> Any:
    # Decorators accept lists of field names; pydantic wants sets or mappings.
    if spec is None or isinstance(spec, set | dict):
        return spec
    return set(spec)


def _reject_pydantic_v1(response_model: Any) -> None:
    if uses_pydantic_v1(response_model):
        raise PydanticV1NotSupportedError(
            f"Response model {response_model!r} is or holds a pydantic.v1 model, which is not "
            "supported. Port it to pydantic v2 (from pydantic import BaseModel)."
        )
