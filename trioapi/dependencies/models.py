"""What registration learns about an endpoint or dependency, kept for every request.

A :class:`Dependant` is the analysed signature of one callable: its request
parameters grouped by where they come from, its sub-dependencies, and which
parameters receive the ``Request``, ``Response``, ``BackgroundTasks``, ... .
A :class:`ParamField` describes one request parameter, with the pydantic
validator built for it once.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import trio
from pydantic import TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from trioapi.params import DependencyScope

__all__ = ["Dependant", "ParamField", "ParamSource", "SecurityScopes"]

ParamSource = str
"""Where a parameter is read from: ``"path"``, ``"query"``, ``"header"``,
``"cookie"`` or ``"body"`` (form fields and files are ``"body"`` too)."""


@dataclass(eq=False)
class ParamField:
    """One request parameter, as it is read and validated for every request.

    Attributes:
        name: The Python parameter name (the key the endpoint is called with).
        alias: The key read from the request and shown in error ``loc``.
        source: Where it is read from (see :data:`ParamSource`).
        field_info: The declaration (a ``trioapi.params`` object, or pydantic's
            ``FieldInfo`` for a field of a parameter model).
        annotation: The type, with any non-trioapi ``Annotated`` metadata.
        required: Missing values are an error rather than the default.
        adapter: The validator, built once at registration (``None`` for the
            fields of a parameter model, which is validated as a whole).
        lookup_key: The key looked up in the request when it differs from
            ``alias`` (fields of a header model: ``save-data`` for ``save_data``).
        aliases: ``(validation key, request key)`` pairs the value may come
            under, preferred first (several with ``AliasChoices``); the first
            is ``alias`` and ``key``.
        is_sequence: Read every value of a repeated key (``list[str]``).
        is_model: A pydantic model read as a group of parameters.
        is_form: Read from a form body.
        is_file: Declared with ``File()``.
        is_bytes_file: A ``File()`` whose value is the uploaded bytes.
        model_fields: For a parameter model, its fields, read one by one.
    """

    name: str
    alias: str
    source: ParamSource
    field_info: FieldInfo
    annotation: Any
    required: bool
    adapter: TypeAdapter[Any] | None
    lookup_key: str | None = None
    aliases: tuple[tuple[str, str], ...] = ()
    is_sequence: bool = False
    is_model: bool = False
    is_form: bool = False
    is_file: bool = False
    is_bytes_file: bool = False
    model_fields: tuple[ParamField, ...] = ()

    @property
    def type_(self) -> Any:
        """The annotation (FastAPI's ``ModelField.type_`` name)."""
        return self.annotation

    @property
    def key(self) -> str:
        """The key looked up in the request."""
        return self.lookup_key or self.alias

    @property
    def default(self) -> Any:
        """The declared default (``PydanticUndefined`` when required)."""
        return self.field_info.default

    def get_default(self) -> Any:
        """A fresh default value: a deep copy, or the result of ``default_factory``."""
        if self.field_info.default_factory is not None:
            return self.field_info.get_default(call_default_factory=True, validated_data={})
        return copy.deepcopy(self.field_info.default)

    def validate(self, value: Any, loc: tuple[str | int, ...]) -> tuple[Any, list[dict[str, Any]]]:
        """Validate one present value; return ``(value, [])`` or ``(None, errors)``.

        Errors are pydantic's dicts without ``url``, their ``loc`` prefixed with ``loc``.
        """
        if self.adapter is None:
            raise RuntimeError(
                f"{self.name!r} is a field of a parameter model, not validated alone"
            )
        try:
            return self.adapter.validate_python(value, from_attributes=True), []
        except ValidationError as exc:
            return None, prefix_errors(exc, loc)


def prefix_errors(exc: ValidationError, loc: tuple[str | int, ...]) -> list[dict[str, Any]]:
    """pydantic's errors for ``exc`` as FastAPI reports them: no ``url``, ``loc`` prefixed."""
    errors: list[dict[str, Any]] = []
    for error in exc.errors(include_url=False):
        error["loc"] = (*loc, *error["loc"])
        errors.append(dict(error))
    return errors


@dataclass(eq=False)
class Dependant:
    """The analysed signature of an endpoint or of a dependency.

    Attributes:
        call: The callable (``None`` only for a bare container).
        name: The parameter name the value is passed as; ``None`` for the
            endpoint itself and for ``dependencies=[...]`` entries.
        path: The route path the analysis was made for.
        path_params: Parameters from ``{segments}`` of the path.
        query_params: Parameters from the query string.
        header_params: Parameters from headers.
        cookie_params: Parameters from cookies.
        body_params: Parameters from the body (JSON, form fields, files).
        dependencies: Sub-dependencies, in signature order.
        request_param_name: Receives the ``Request``.
        websocket_param_name: Receives the ``WebSocket``.
        http_connection_param_name: Receives the ``Request`` or ``WebSocket``.
        response_param_name: Receives the shared sub-``Response``.
        background_tasks_param_name: Receives the request's ``BackgroundTasks``.
        security_scopes_param_name: Receives a ``SecurityScopes``.
        own_oauth_scopes: Scopes of this ``Security()`` declaration.
        parent_oauth_scopes: Scopes required by the ``Security()`` above it.
        use_cache: Reuse the value within one request.
        scope: The declared scope (``Depends(scope=...)``), or ``None``.
        limiter: The slots of ``Depends(max_concurrency=N)``, or ``None``
            (no limit). Held for the call, or for a ``yield`` dependency from
            its setup to the end of its teardown.
        is_gen_callable: A sync generator function (``yield`` dependency).
        is_async_gen_callable: An async generator function.
        is_coroutine_callable: An ``async def`` function (or async ``__call__``).
        is_security_scheme: ``call`` is a ``trioapi.security`` scheme.
    """

    call: Callable[..., Any] | None = None
    name: str | None = None
    path: str | None = None
    path_params: list[ParamField] = field(default_factory=list)
    query_params: list[ParamField] = field(default_factory=list)
    header_params: list[ParamField] = field(default_factory=list)
    cookie_params: list[ParamField] = field(default_factory=list)
    body_params: list[ParamField] = field(default_factory=list)
    dependencies: list[Dependant] = field(default_factory=list)
    request_param_name: str | None = None
    websocket_param_name: str | None = None
    http_connection_param_name: str | None = None
    response_param_name: str | None = None
    background_tasks_param_name: str | None = None
    security_scopes_param_name: str | None = None
    own_oauth_scopes: list[str] = field(default_factory=list)
    parent_oauth_scopes: list[str] = field(default_factory=list)
    use_cache: bool = True
    scope: DependencyScope | None = None
    limiter: trio.Semaphore | None = None
    is_gen_callable: bool = False
    is_async_gen_callable: bool = False
    is_coroutine_callable: bool = False
    is_security_scheme: bool = False

    @cached_property
    def oauth_scopes(self) -> list[str]:
        """Every scope required on the way to this dependency, without duplicates, in order."""
        return list(dict.fromkeys([*self.parent_oauth_scopes, *self.own_oauth_scopes]))

    @property
    def security_scopes(self) -> list[str]:
        """Alias of :attr:`oauth_scopes`."""
        return self.oauth_scopes

    @cached_property
    def uses_scopes(self) -> bool:
        """Whether the security scopes can change its value: it or a dependency reads them."""
        return bool(
            self.own_oauth_scopes
            or self.security_scopes_param_name is not None
            or self.is_security_scheme
            or any(sub.uses_scopes for sub in self.dependencies)
        )

    @cached_property
    def cache_key(self) -> tuple[Any, tuple[str, ...], str]:
        """What identifies a cached value within one request.

        The callable, the scopes only when they can change the value (so a
        plain dependency reached below ``Security(scopes=...)`` and beside it
        runs once), and the scope it is torn down in (a function-scoped and a
        request-scoped use of one ``yield`` dependency are two values).
        """
        scopes = tuple(sorted(set(self.oauth_scopes))) if self.uses_scopes else ()
        return (self.call, scopes, self.computed_scope or "")

    @property
    def is_generator(self) -> bool:
        """A ``yield`` dependency (sync or async)."""
        return self.is_gen_callable or self.is_async_gen_callable

    @property
    def computed_scope(self) -> DependencyScope | None:
        """The effective scope: the declared one, else ``"request"`` for ``yield`` dependencies."""
        if self.scope is not None:
            return self.scope
        return "request" if self.is_generator else None

    def iter_tree(self) -> Iterator[Dependant]:
        """This dependant and every sub-dependant below it, depth first, parents first."""
        yield self
        for sub in self.dependencies:
            yield from sub.iter_tree()

    def flat_body_params(self) -> list[ParamField]:
        """The body parameters of the whole tree, each name once, in declaration order."""
        seen: dict[str, ParamField] = {}
        for dependant in self.iter_tree():
            for param in dependant.body_params:
                seen.setdefault(param.name, param)
        return list(seen.values())


class SecurityScopes:
    """The scopes required by every ``Security()`` on the path to a dependency.

    Public as ``trioapi.security.SecurityScopes`` (FastAPI's place); defined
    here, beside :class:`Dependant`, so that the dependency engine that fills
    it needs nothing from the security schemes above it.

    Declare a parameter of this type in a dependency and the DI layer fills it
    with the union of the scopes of the ``Security()`` declarations that lead
    to it, so one token check serves endpoints that need different scopes.

    Attributes:
        scopes: The required scopes, in declaration order.
        scope_str: The scopes joined by spaces, as OAuth2 writes them in
            ``WWW-Authenticate`` and in tokens.
    """

    def __init__(self, scopes: list[str] | None = None) -> None:
        self.scopes: list[str] = scopes or []
        self.scope_str: str = " ".join(self.scopes)
