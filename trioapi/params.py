"""Parameter declarations: where a value comes from, and how to validate it.

``Query``, ``Path``, ``Header``, ``Cookie``, ``Body``, ``Form`` and ``File`` are
pydantic ``FieldInfo`` subclasses, so every constraint pydantic knows (``gt``,
``max_length``, ``pattern``, ...) works on them unchanged. ``Depends`` and
``Security`` mark a parameter as a dependency. Most code uses the functions of
the same names in :mod:`trioapi.param_functions`, which return these objects.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal, TypedDict

from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined
from typing_extensions import Unpack

from trioapi.exceptions import TrioAPIDeprecationWarning, TrioAPIError
from trioapi.openapi.models import Example  # noqa: F401  # the type of openapi_examples, as in FastAPI

__all__ = [
    "Body",
    "Cookie",
    "Depends",
    "File",
    "Form",
    "Header",
    "Param",
    "ParamOptions",
    "ParamTypes",
    "Path",
    "Query",
    "Security",
]

_Unset: Any = PydanticUndefined


class ParamTypes(Enum):
    """The part of the request a parameter is read from (OpenAPI's ``in``)."""

    query = "query"
    header = "header"
    path = "path"
    cookie = "cookie"


def _field_kwargs(default: Any, options: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments for ``FieldInfo.__init__``, leaving out what was not given.

    ``FieldInfo`` records which attributes were set explicitly, so passing
    ``None`` for an option the user never wrote would change how pydantic
    merges this field with others.
    """
    regex = options.pop("regex", None)
    if regex is not None:
        warnings.warn(
            "`regex` has been deprecated, please use `pattern` instead",
            category=TrioAPIDeprecationWarning,
            stacklevel=4,
        )
        if options.get("pattern") is None:
            options["pattern"] = regex
    if extra:
        warnings.warn(
            "Passing extra keyword arguments to a parameter is deprecated; "
            "use json_schema_extra={...} instead.",
            category=DeprecationWarning,
            stacklevel=4,
        )
        if options.get("json_schema_extra") is None:
            options["json_schema_extra"] = extra
    kwargs: dict[str, Any] = {"default": default}
    for key, value in options.items():
        if value is not None and value is not _Unset:
            kwargs[key] = value
    return kwargs


class ParamOptions(TypedDict, total=False):
    """Keyword options shared by every parameter declaration, declared once.

    The constraints are pydantic's (see ``pydantic.Field``); the rest is
    OpenAPI metadata.

    Attributes:
        default_factory: Called to make the default when the value is missing.
        alias: The name in the request, when it differs from the parameter's.
        alias_priority: pydantic's alias priority.
        validation_alias: The name read from the request (wins over ``alias``).
        serialization_alias: The name used when serializing.
        title: OpenAPI title.
        description: OpenAPI description.
        gt: Greater than. ge: Greater than or equal.
        lt: Less than. le: Less than or equal.
        min_length: Minimum length of a string or sequence.
        max_length: Maximum length of a string or sequence.
        pattern: A regular expression a string must match.
        regex: Deprecated spelling of ``pattern``.
        discriminator: The field that tells the members of a union apart.
        strict: Validate in strict mode (no coercion).
        validate_default: Validate the default too when the value is missing.
        union_mode: pydantic's union mode (``"smart"`` or ``"left_to_right"``).
        fail_fast: Stop validating a sequence at its first error.
        multiple_of: The number must be a multiple of this.
        allow_inf_nan: Allow ``inf``, ``-inf`` and ``nan`` for floats.
        max_digits: Maximum digits of a ``Decimal``.
        decimal_places: Maximum decimal places of a ``Decimal``.
        examples: JSON Schema examples.
        example: Deprecated; use ``examples``.
        openapi_examples: Named OpenAPI examples (``{"name": {"value": ...}}``).
        deprecated: Mark the parameter deprecated in OpenAPI.
        include_in_schema: List the parameter in OpenAPI.
        json_schema_extra: Extra keys merged into the JSON Schema.
    """

    default_factory: Callable[[], Any] | None
    annotation: Any
    alias: str | None
    alias_priority: int | None
    validation_alias: str | None
    serialization_alias: str | None
    title: str | None
    description: str | None
    gt: float | None
    ge: float | None
    lt: float | None
    le: float | None
    min_length: int | None
    max_length: int | None
    pattern: str | None
    regex: str | None
    discriminator: str | None
    strict: bool | None
    validate_default: bool | None
    union_mode: Literal["smart", "left_to_right"] | None
    fail_fast: bool | None
    multiple_of: float | None
    allow_inf_nan: bool | None
    max_digits: int | None
    decimal_places: int | None
    examples: list[Any] | None
    example: Any
    openapi_examples: dict[str, Any] | None
    deprecated: bool | str | None
    include_in_schema: bool
    json_schema_extra: dict[str, Any] | None


_NOT_FIELD_OPTIONS = frozenset({"example", "openapi_examples", "include_in_schema"})


def _init_field(field: FieldInfo, default: Any, options: dict[str, Any]) -> None:
    """Set trioapi's own attributes on ``field`` and initialise the ``FieldInfo`` part."""
    example = options.pop("example", _Unset)
    if example is not _Unset:
        warnings.warn(
            "`example` has been deprecated, please use `examples` instead",
            category=TrioAPIDeprecationWarning,
            stacklevel=4,
        )
    field.example = example  # type: ignore[attr-defined]  # set on the subclasses only
    field.include_in_schema = options.pop("include_in_schema", True)  # type: ignore[attr-defined]
    field.openapi_examples = options.pop("openapi_examples", None)  # type: ignore[attr-defined]
    known = set(ParamOptions.__annotations__) - _NOT_FIELD_OPTIONS
    extra = {key: options.pop(key) for key in list(options) if key not in known}
    FieldInfo.__init__(field, **_field_kwargs(default, options, extra))


# FieldInfo is @final for type checkers only; FastAPI's public API subclasses it.
class Param(FieldInfo):  # type: ignore[misc]
    """A parameter read from the path, the query string, a header or a cookie.

    Attributes:
        in_: Where the value comes from.
        include_in_schema: Whether OpenAPI lists the parameter.
        openapi_examples: Named examples for OpenAPI (``{"name": {"value": ...}}``).
        example: The deprecated single example.
    """

    in_: ParamTypes
    include_in_schema: bool
    openapi_examples: dict[str, Any] | None
    example: Any

    def __init__(self, default: Any = PydanticUndefined, **options: Unpack[ParamOptions]) -> None:
        _init_field(self, default, dict(options))

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.default})"


class Path(Param):  # type: ignore[misc]  # see Param
    """A parameter read from a ``{segment}`` of the path; always required."""

    in_ = ParamTypes.path

    def __init__(self, default: Any = ..., **options: Unpack[ParamOptions]) -> None:
        if default is not ...:
            raise TrioAPIError(
                f"Path() was given the default {default!r}, but path parameters are always "
                "required. Remove the default, or declare the parameter with Query()."
            )
        super().__init__(default, **options)


class Query(Param):  # type: ignore[misc]  # see Param
    """A parameter read from the query string."""

    in_ = ParamTypes.query


class Header(Param):  # type: ignore[misc]  # see Param
    """A parameter read from a request header.

    Attributes:
        convert_underscores: Read ``user_agent`` from the ``user-agent`` header
            (on by default, since headers rarely contain underscores).
    """

    in_ = ParamTypes.header

    def __init__(
        self,
        default: Any = PydanticUndefined,
        *,
        convert_underscores: bool = True,
        **options: Unpack[ParamOptions],
    ) -> None:
        self.convert_underscores = convert_underscores
        super().__init__(default, **options)


class Cookie(Param):  # type: ignore[misc]  # see Param
    """A parameter read from a cookie."""

    in_ = ParamTypes.cookie


class Body(FieldInfo):  # type: ignore[misc]  # see Param
    """A parameter read from the request body.

    Attributes:
        embed: Expect ``{"name": value}`` rather than the bare value even when
            this is the only body parameter. ``None`` means "decide from the
            other parameters".
        media_type: The content type OpenAPI documents for the body.
        include_in_schema: Whether OpenAPI lists the parameter.
        openapi_examples: Named examples for OpenAPI.
        example: The deprecated single example.
    """

    include_in_schema: bool
    openapi_examples: dict[str, Any] | None
    example: Any

    def __init__(
        self,
        default: Any = PydanticUndefined,
        *,
        embed: bool | None = None,
        media_type: str = "application/json",
        **options: Unpack[ParamOptions],
    ) -> None:
        self.embed = embed
        self.media_type = media_type
        _init_field(self, default, dict(options))

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.default})"


class Form(Body):  # type: ignore[misc]  # see Param
    """A field of a URL-encoded or multipart form body."""

    def __init__(
        self,
        default: Any = PydanticUndefined,
        *,
        media_type: str = "application/x-www-form-urlencoded",
        **options: Unpack[ParamOptions],
    ) -> None:
        super().__init__(default, media_type=media_type, **options)


class File(Form):  # type: ignore[misc]  # see Param
    """An uploaded file of a multipart form body (``bytes`` or ``UploadFile``)."""

    def __init__(
        self,
        default: Any = PydanticUndefined,
        *,
        media_type: str = "multipart/form-data",
        **options: Unpack[ParamOptions],
    ) -> None:
        super().__init__(default, media_type=media_type, **options)


DependencyScope = Literal["function", "request"]


@dataclass(frozen=True)
class Depends:
    """Declares a parameter (or a route's ``dependencies=``) as the result of a callable.

    Attributes:
        dependency: The callable; ``None`` means "the parameter's annotation".
        use_cache: Reuse the value if the same dependency appears twice in one
            request (the default); ``False`` calls it again every time.
        scope: For ``yield`` dependencies: ``"request"`` (the default) tears
            them down after the response has been sent and the background
            tasks have run, ``"function"`` right after the endpoint returns.
        max_concurrency: At most this many calls of the dependency run at once,
            across all requests; the others wait their turn. A ``yield``
            dependency holds its slot until it has been torn down. ``None``
            (the default) is no limit.
    """

    dependency: Callable[..., Any] | None = None
    use_cache: bool = True
    scope: DependencyScope | None = None
    max_concurrency: int | None = None

    def __post_init__(self) -> None:
        limit = self.max_concurrency
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 1
        ):
            raise TrioAPIError(
                f"Depends(max_concurrency={limit!r}): the limit must be a whole number of at "
                f"least 1. Pass a positive int, or None for no limit."
            )


@dataclass(frozen=True)
class Security(Depends):
    """A dependency that is also a security requirement, with OAuth2 scopes.

    Attributes:
        scopes: The OAuth2 scopes the endpoint needs; a ``SecurityScopes``
            parameter of the dependency receives them.
    """

    scopes: Sequence[str] | None = None
