"""Registration-time analysis: a callable's signature becomes a :class:`Dependant`.

Each parameter is classified once: a dependency (``Depends``), an injected
object (``Request``, ``Response``, ``BackgroundTasks``, ...), or a request
parameter read from the path, query, headers, cookies or body. Mistakes in
the declarations raise :class:`~trioapi.exceptions.TrioAPIError` here, never
per request.
"""

from __future__ import annotations

import copy
import functools
import inspect
from collections.abc import Callable
from typing import Annotated, Any, get_args, get_origin

import trio
import typing_extensions
from pydantic import AliasChoices
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from trioapi import params
from trioapi._compat import uses_pydantic_v1
from trioapi._foreign import check_not_foreign
from trioapi.background import BackgroundTasks
from trioapi.dependencies.call_kinds import call_kind
from trioapi.dependencies.fields import (
    build_param_field,
    is_scalar,
    is_scalar_sequence,
    is_upload_file,
    model_of,
    request_alias,
)
from trioapi.dependencies.form_unions import form_union_annotation
from trioapi.dependencies.limits import DependencyLimiters
from trioapi.dependencies.models import Dependant, SecurityScopes
from trioapi.exceptions import (
    DependencyScopeError,
    InvalidDeclarationError,
    PydanticV1NotSupportedError,
    TrioAPIError,
)
from trioapi.requests import HTTPConnection, Request
from trioapi.responses import Response
from trioapi.security.base import SecurityBase
from trioapi.websockets import WebSocket

__all__ = [
    "DependencyScopeError",
    "InvalidParameterTypeError",
    "build_dependant",
    "build_parameterless_dependant",
    "callable_name",
    "get_dependant",
]

_EMPTY = inspect.Parameter.empty


class InvalidParameterTypeError(InvalidDeclarationError):
    """A path, query, header or cookie parameter has a type that location cannot carry.

    It is also an ``AssertionError``, the type FastAPI raises for this mistake,
    so code and tests written for FastAPI catch it.
    """


def callable_name(call: Any) -> str:
    """A readable name for ``call`` in error messages: ``get_item()``, ``Pager()``."""
    target = call.func if isinstance(call, functools.partial) else call
    name = getattr(target, "__qualname__", None) or type(target).__qualname__
    return f"{name}()"


def _bare_name(call: Any) -> str:
    return callable_name(call).removesuffix("()")


class _Context:
    """What every message about one route needs: where we are."""

    __slots__ = ("label", "limiters", "path_param_names")

    def __init__(
        self, label: str, path_param_names: frozenset[str], limiters: DependencyLimiters
    ) -> None:
        self.label = label
        self.path_param_names = path_param_names
        # The app's semaphores for Depends(max_concurrency=N).
        self.limiters = limiters

    def error(self, text: str, *, cls: type[TrioAPIError] = TrioAPIError) -> TrioAPIError:
        return cls(f"{self.label}: {text}")


def _typed_parameters(call: Callable[..., Any]) -> list[inspect.Parameter]:
    """The parameters of ``call`` with string annotations evaluated in its module.

    For a class this is its constructor's signature (pydantic models and
    dataclasses included); ``*args`` and ``**kwargs`` are not request values.
    """
    try:
        signature = inspect.signature(call, eval_str=True)
    except NameError:
        # A name imported only under TYPE_CHECKING, used in the return
        # annotation: only the parameters' annotations are needed.
        signature = _signature_with_parameters_evaluated(call)
    kinds = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return [p for p in signature.parameters.values() if p.kind not in kinds]


def _signature_with_parameters_evaluated(call: Callable[..., Any]) -> inspect.Signature:
    signature = inspect.signature(call)
    namespace = getattr(inspect.unwrap(call), "__globals__", {})
    parameters = [
        p.replace(annotation=eval(p.annotation, namespace))  # as eval_str=True does
        if isinstance(p.annotation, str)
        else p
        for p in signature.parameters.values()
    ]
    return signature.replace(parameters=parameters, return_annotation=inspect.Signature.empty)


def _special_kind(annotation: Any) -> str | None:
    """Which injected object a parameter of this type receives, if any."""
    if not inspect.isclass(annotation):
        return None
    for base, kind in (
        (Request, "request"),
        (WebSocket, "websocket"),
        (HTTPConnection, "http_connection"),
        (Response, "response"),
        (BackgroundTasks, "background_tasks"),
        (SecurityScopes, "security_scopes"),
    ):
        if issubclass(annotation, base):
            return kind
    return None


def _is_ours(meta: Any) -> bool:
    return isinstance(meta, params.Depends | params.Param | params.Body)


def _split_annotated(annotation: Any) -> tuple[Any, Any, Any]:
    """``(bare type, type with other metadata kept, our last declaration or None)``."""
    # typing_extensions' class is typing's on Python 3.12+ (the ``type`` statement).
    if isinstance(annotation, typing_extensions.TypeAliasType):
        annotation = annotation.__value__  # ``type Alias = Annotated[...]`` (PEP 695)
    if get_origin(annotation) is not Annotated:
        return annotation, annotation, None
    base, *metadata = get_args(annotation)
    ours = [meta for meta in metadata if _is_ours(meta)]
    rest = [meta for meta in metadata if not _is_ours(meta)]
    kept = Annotated[(base, *rest)] if rest else base
    return base, kept, ours[-1] if ours else None


def _declaration(
    ctx: _Context, where: str, param: inspect.Parameter
) -> tuple[Any, Any, params.Depends | FieldInfo | None]:
    """The parameter's type and its trioapi declaration, from ``Annotated`` or its default."""
    annotation = Any if param.annotation is _EMPTY else param.annotation
    metadata = get_args(annotation) if get_origin(annotation) is Annotated else (annotation,)
    check_not_foreign(f"{ctx.label}: parameter {param.name!r} of {where}", param.default, *metadata)
    base, kept, declared = _split_annotated(annotation)
    default = param.default
    if _is_ours(default):
        if declared is not None:
            raise ctx.error(
                f"parameter {param.name!r} of {where} is declared both in Annotated[...] and as "
                f"its default ({default!r}). Keep one of the two declarations."
            )
        # As FastAPI: a declaration given as the default takes the bare type;
        # other Annotated metadata (a Discriminator, Field(...)) is not applied.
        return base, base, default
    if isinstance(declared, FieldInfo):
        if declared.default is not PydanticUndefined and declared.default is not ...:
            raise ctx.error(
                f"parameter {param.name!r} of {where} sets a default inside "
                f"Annotated[..., {type(declared).__name__}(...)]. Set the default with "
                f"'= value' after the annotation instead."
            )
        declared = copy.copy(declared)
        if default is not _EMPTY:
            declared.default = default
    return base, kept, declared


def _with_annotated_attributes(field_info: FieldInfo, annotation: Any) -> FieldInfo:
    """``field_info`` with what a pydantic ``Field()`` in ``Annotated`` sets, as FastAPI merges it.

    ``q: Annotated[str, Field(description="...")]`` documents the query
    parameter with that description; what the declaration sets itself wins.
    """
    if get_origin(annotation) is not Annotated:
        return field_info
    extras = [meta for meta in get_args(annotation)[1:] if isinstance(meta, FieldInfo)]
    own = field_info._attributes_set
    updates = {
        name: value
        for extra in extras
        for name, value in extra._attributes_set.items()
        if name not in own and name not in _KEPT_FROM_DECLARATION
    }
    if not updates:
        return field_info
    merged = copy.copy(field_info)
    for name, value in updates.items():
        setattr(merged, name, value)
    merged._attributes_set = {**own, **updates}
    return merged


# The declaration's own default (or the parameter's) stands, as in FastAPI.
_KEPT_FROM_DECLARATION = frozenset({"annotation", "default", "default_factory"})


def _infer_field_info(
    ctx: _Context, param: inspect.Parameter, base: Any, is_path_param: bool
) -> FieldInfo:
    """FastAPI's rule for undeclared parameters: path name, file, complex body, or query."""
    default = PydanticUndefined if param.default is _EMPTY else param.default
    if is_path_param:
        return params.Path()
    if is_upload_file(base):
        return params.File(default)
    if not is_scalar(base):
        return params.Body(default)
    return params.Query(default)


def _choose_path_alias(ctx: _Context, field_info: FieldInfo) -> FieldInfo:
    """``Path(validation_alias=AliasChoices(...))``: the choice this route's path has.

    One declaration may serve routes whose paths name the segment differently
    (``/items/{item_id}`` and ``/legacy/{id}``), so each route reads its own,
    from a copy: the shared declaration is left as it is.
    """
    choices = field_info.validation_alias
    if not isinstance(choices, AliasChoices):
        return field_info
    names = [c for c in choices.choices if isinstance(c, str)]
    if len(names) != len(choices.choices):
        return field_info
    for choice in names:
        if choice in ctx.path_param_names:
            chosen = copy.copy(field_info)
            chosen.validation_alias = choice
            return chosen
    return field_info


def _check_location(ctx: _Context, where: str, name: str, field_info: FieldInfo, base: Any) -> None:
    is_path_param = name in ctx.path_param_names
    kind = type(field_info).__name__
    if is_path_param and not isinstance(field_info, params.Path):
        raise ctx.error(
            f"parameter {name!r} of {where} is declared with {kind}(), but {{{name}}} is a "
            f"segment of the path. Use Path(), or rename the parameter."
        )
    if (
        isinstance(field_info, params.Path)
        and request_alias(name, field_info) not in ctx.path_param_names
        # Alias choices serve several paths: the segment may come from the
        # prefix of an include_router() yet to come.
        and not isinstance(field_info.validation_alias, AliasChoices)
    ):
        raise ctx.error(
            f"parameter {name!r} of {where} is declared with Path(), but the path has no "
            f"{{{name}}} segment. Add '{{{name}}}' to the path, or use Query() to read it "
            f"from the query string."
        )
    if not isinstance(field_info, params.Param):
        return
    allowed = is_scalar(base) or (
        not isinstance(field_info, params.Path) and model_of(base) is not None
    )
    if isinstance(field_info, params.Query | params.Header):
        allowed = allowed or is_scalar_sequence(base)
    if not allowed:
        # The first words are FastAPI's assertion message, which ported tests match.
        raise ctx.error(
            f"{kind} parameter {name!r} must be one of the supported types: {where} declares "
            f"it with the type {base!r}, which cannot be read from a {field_info.in_.value}. "
            f"Use a single value type (or a list of them for Query/Header), or Body() to read "
            f"it from the body.",
            cls=InvalidParameterTypeError,
        )


def _add_sub_dependant(
    ctx: _Context, dependant: Dependant, name: str, depends: params.Depends, base: Any
) -> None:
    call = depends.dependency if depends.dependency is not None else base
    if not callable(call):
        raise ctx.error(
            f"parameter {name!r} of {callable_name(dependant.call)} uses Depends() without a "
            f"callable, and its type {call!r} cannot be called. Pass the dependency: "
            f"Depends(my_dependency)."
        )
    sub = _build(ctx, call, name=name, depends=depends, parent=dependant)
    if dependant.is_generator and dependant.computed_scope == "request" and sub.scope == "function":
        raise ctx.error(
            # The first sentence is FastAPI's message, which ported tests match.
            f'The dependency "{_bare_name(dependant.call)}" has a scope of "request", it cannot '
            f'depend on dependencies with scope "function" ({callable_name(call)} has it). Give '
            f'{callable_name(call)} scope="request", or {callable_name(dependant.call)} '
            f'scope="function".',
            cls=DependencyScopeError,
        )
    dependant.dependencies.append(sub)


def _add_parameter(ctx: _Context, dependant: Dependant, param: inspect.Parameter) -> None:
    where = callable_name(dependant.call)
    base, kept, declared = _declaration(ctx, where, param)
    if isinstance(declared, params.Depends):
        _add_sub_dependant(ctx, dependant, param.name, declared, base)
        return
    kind = _special_kind(base) if declared is None else None
    if kind is not None:
        setattr(dependant, f"{kind}_param_name", param.name)
        return
    if uses_pydantic_v1(base):
        raise ctx.error(
            f"parameter {param.name!r} of {where} is or holds a pydantic.v1 model, which is not "
            f"supported. Port the model to pydantic v2 (from pydantic import BaseModel).",
            cls=PydanticV1NotSupportedError,
        )
    field_info = declared or _infer_field_info(ctx, param, kept, param.name in ctx.path_param_names)
    field_info = _with_annotated_attributes(field_info, kept)
    if isinstance(field_info, params.Path):
        field_info = _choose_path_alias(ctx, field_info)
    _check_location(ctx, where, param.name, field_info, kept)
    if isinstance(field_info, params.Form):
        kept = form_union_annotation(kept)
    field = build_param_field(param.name, kept, field_info)
    if field.is_form:
        _check_multipart_installed(ctx, where, param.name, field_info)
    getattr(dependant, f"{field.source}_params").append(field)


def _check_multipart_installed(ctx: _Context, where: str, name: str, info: FieldInfo) -> None:
    # Checked per form parameter at registration (an import of a loaded
    # module is a dict look-up), so a broken install fails at start-up with
    # the fix, not as a 500 on the first form request.
    try:
        import python_multipart  # noqa: F401  # only probing that it is importable
    except ImportError:
        declared = type(info).__name__
        raise ctx.error(
            f"parameter {name!r} of {where} is declared with {declared}(), and reading form "
            f'data needs the "python-multipart" package, which is not installed. Install it: '
            f"pip install python-multipart."
        ) from None


def _flags(dependant: Dependant, call: Callable[..., Any]) -> None:
    kind = call_kind(call)
    # As FastAPI: an async generator wins (an async wrapper around a generator).
    dependant.is_async_gen_callable = kind.is_async_gen
    dependant.is_gen_callable = kind.is_gen and not kind.is_async_gen
    dependant.is_coroutine_callable = kind.is_coroutine


def _limiter(
    ctx: _Context, call: Callable[..., Any], depends: params.Depends | None
) -> trio.Semaphore | None:
    if depends is None or depends.max_concurrency is None:
        return None
    return ctx.limiters.limiter_for(call, depends.max_concurrency)


def _build(
    ctx: _Context,
    call: Callable[..., Any],
    *,
    name: str | None,
    depends: params.Depends | None,
    parent: Dependant | None,
) -> Dependant:
    own_scopes: list[str] = []
    if isinstance(depends, params.Security) and depends.scopes:
        own_scopes = list(depends.scopes)
    dependant = Dependant(
        call=call,
        name=name,
        path=ctx.label,
        own_oauth_scopes=own_scopes,
        parent_oauth_scopes=list(parent.oauth_scopes) if parent is not None else [],
        use_cache=depends.use_cache if depends is not None else True,
        scope=depends.scope if depends is not None else None,
        limiter=_limiter(ctx, call, depends),
        is_security_scheme=isinstance(call, SecurityBase),
    )
    _flags(dependant, call)
    for param in _typed_parameters(call):
        _add_parameter(ctx, dependant, param)
    return dependant


def build_dependant(
    *,
    path: str,
    call: Callable[..., Any],
    name: str | None = None,
    label: str | None = None,
    path_param_names: frozenset[str] | None = None,
    depends: params.Depends | None = None,
    parent: Dependant | None = None,
    limiters: DependencyLimiters | None = None,
) -> Dependant:
    """Analyse ``call`` (an endpoint or a dependency) and everything it depends on.

    Args:
        path: The route path; ``{name}`` segments are the path parameters.
        call: The callable to analyse.
        name: The parameter name its value is passed as (``None`` for endpoints).
        label: How errors name the route (``"GET /items/{item_id}"``); the path
            by default.
        path_param_names: The path's parameter names, when already known.
        depends: The ``Depends``/``Security`` it was declared with, if any.
        parent: The dependant it is a sub-dependency of (for OAuth2 scopes).
        limiters: The app's semaphores for ``Depends(max_concurrency=N)``
            (``None``: a registry of this analysis's own).

    Raises:
        TrioAPIError: a parameter is declared in a way that cannot work.
    """
    if path_param_names is None:
        path_param_names = path_param_names_of(path)
    if limiters is None:
        limiters = DependencyLimiters()
    ctx = _Context(label or path, path_param_names, limiters)
    return _build(ctx, call, name=name, depends=depends, parent=parent)


def build_parameterless_dependant(
    *,
    path: str,
    depends: params.Depends,
    label: str | None = None,
    limiters: DependencyLimiters | None = None,
) -> Dependant:
    """Analyse an entry of a route's ``dependencies=[...]`` (its value is not passed on)."""
    if depends.dependency is None:
        raise TrioAPIError(
            f"{label or path}: an entry of dependencies=[...] is Depends() without a callable. "
            f"Pass the dependency: Depends(my_dependency)."
        )
    return build_dependant(
        path=path, call=depends.dependency, label=label, depends=depends, limiters=limiters
    )


def path_param_names_of(path: str) -> frozenset[str]:
    """The names of the ``{name}`` / ``{name:convertor}`` segments of ``path``."""
    names: set[str] = set()
    for piece in path.split("{")[1:]:
        inner = piece.split("}", 1)[0]
        names.add(inner.split(":", 1)[0].strip())
    return frozenset(names)


def get_dependant(*, path: str, call: Callable[..., Any], name: str | None = None) -> Dependant:
    """FastAPI's name for :func:`build_dependant`."""
    return build_dependant(path=path, call=call, name=name)
