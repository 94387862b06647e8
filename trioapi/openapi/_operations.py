"""The OpenAPI operation of one ``APIRoute``: parameters, body, security, callbacks.

Responses are built in :mod:`trioapi.openapi._responses`. Two passes use
this module: :func:`register_route_fields` tells the schema registry every
schema a route shows, then, once the registry has generated them,
:func:`build_path_item` builds the route's operations.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic_core import PydanticUndefined

from trioapi._routing.api_route import APIRoute
from trioapi.dependencies.models import Dependant, ParamField
from trioapi.encoders import jsonable_encoder
from trioapi.openapi._responses import (
    build_responses,
    deep_dict_update,
    register_response_fields,
)
from trioapi.openapi._schemas import SchemaRegistry
from trioapi.openapi.constants import METHODS_WITH_BODY

__all__ = [
    "DocumentState",
    "build_path_item",
    "flat_dependants",
    "register_route_fields",
]

_PARAM_SOURCES = ("path", "query", "header", "cookie")


@dataclass
class DocumentState:
    """What the operations of one document share while it is built.

    Attributes:
        registry: The schemas, generated once for the whole document.
        operation_ids: The ``operationId`` values used so far (duplicates warn).
        security_schemes: ``components.securitySchemes``, by scheme name.
        needs_validation_error: Some operation answers 422 with ``HTTPValidationError``.
        limit_responses: Document the 504/413/408 of routes that set their own limits.
    """

    registry: SchemaRegistry
    operation_ids: set[str] = field(default_factory=set)
    security_schemes: dict[str, Any] = field(default_factory=dict)
    needs_validation_error: bool = False
    limit_responses: bool = True


def flat_dependants(root: Dependant) -> Iterator[Dependant]:
    """The dependants of a route, parents first, each ``(call, scopes)`` once."""
    seen: set[Any] = set()

    def walk(dependant: Dependant) -> Iterator[Dependant]:
        seen.add(_cache_key(dependant))
        yield dependant
        for sub in dependant.dependencies:
            if _cache_key(sub) not in seen:
                yield from walk(sub)

    yield from walk(root)


def _cache_key(dependant: Dependant) -> Any:
    try:
        key = dependant.cache_key
        hash(key)
    except TypeError:  # an unhashable callable: compare by identity
        return (id(dependant.call), tuple(dependant.oauth_scopes))
    return key


def _request_params(root: Dependant, source: str) -> list[ParamField]:
    """The declared parameters read from ``source`` (parameter models not expanded)."""
    params: list[ParamField] = []
    for dependant in flat_dependants(root):
        params.extend(getattr(dependant, f"{source}_params"))
    return params


def _schema_params(root: Dependant, source: str) -> list[tuple[ParamField, bool]]:
    """The parameters shown for ``source``, each with whether it is required.

    Parameter models are expanded to their fields; the fields of an optional
    model (``Filters | None = None``) are all optional.
    """
    params: list[tuple[ParamField, bool]] = []
    for param in _request_params(root, source):
        if param.model_fields:
            if not getattr(param.field_info, "include_in_schema", True):
                continue  # a hidden model hides its fields
            params.extend((f, f.required and param.required) for f in param.model_fields)
        else:
            params.append((param, param.required))
    return params


def register_route_fields(route: APIRoute, registry: SchemaRegistry) -> None:
    """Tell ``registry`` every schema ``route`` (and its callbacks) will show."""
    for source in _PARAM_SOURCES:
        for param, _ in _schema_params(route.dependant, source):
            registry.param(param)
    if route.body_field is not None:
        registry.param(route.body_field)
    register_response_fields(route, registry)
    for callback in _callback_routes(route):
        register_route_fields(callback, registry)


def _callback_routes(route: APIRoute) -> list[APIRoute]:
    return [callback for callback in route.callbacks or [] if isinstance(callback, APIRoute)]


def _examples(parameter: dict[str, Any], field_info: Any) -> None:
    openapi_examples = getattr(field_info, "openapi_examples", None)
    example = getattr(field_info, "example", PydanticUndefined)
    if openapi_examples:
        parameter["examples"] = jsonable_encoder(openapi_examples)
    elif example is not PydanticUndefined:
        parameter["example"] = jsonable_encoder(example)


def _parameter(
    param: ParamField, source: str, required: bool, registry: SchemaRegistry
) -> dict[str, Any]:
    info = param.field_info
    parameter: dict[str, Any] = {
        "name": param.key,
        "in": source,
        "required": required,
        "schema": registry.schema(registry.param(param)),
    }
    if info.description:
        parameter["description"] = info.description
    _examples(parameter, info)
    if getattr(info, "deprecated", None):
        parameter["deprecated"] = True
    return parameter


def _parameters(route: APIRoute, registry: SchemaRegistry) -> list[dict[str, Any]]:
    by_key: dict[tuple[str, str], dict[str, Any]] = {}
    required: dict[tuple[str, str], dict[str, Any]] = {}
    for source in _PARAM_SOURCES:
        for param, is_required in _schema_params(route.dependant, source):
            if not getattr(param.field_info, "include_in_schema", True):
                continue
            parameter = _parameter(param, source, is_required, registry)
            key = (source, parameter["name"])
            by_key[key] = parameter
            if parameter["required"]:
                required[key] = parameter
    # A parameter declared twice keeps its first place; a required declaration wins.
    by_key.update(required)
    return list(by_key.values())


def _request_body(route: APIRoute, registry: SchemaRegistry) -> dict[str, Any] | None:
    body_field = route.body_field
    if body_field is None:
        return None
    info = body_field.field_info
    content: dict[str, Any] = {"schema": registry.schema(registry.param(body_field))}
    _examples(content, info)
    request_body: dict[str, Any] = {}
    if body_field.required:
        request_body["required"] = True
    media_type = getattr(info, "media_type", None) or "application/json"
    request_body["content"] = {media_type: content}
    return request_body


def _security(route: APIRoute, state: DocumentState) -> list[dict[str, list[str]]]:
    # One requirement per scheme, its scopes merged in first-seen order: a
    # scheme used with no scopes and again with some is one requirement.
    scopes_by_name: dict[str, list[str]] = {}
    for dependant in flat_dependants(route.dependant):
        if not dependant.is_security_scheme:
            continue
        scheme = dependant.call
        name: str = getattr(scheme, "scheme_name")  # noqa: B009 - set by every scheme
        model = getattr(scheme, "model")  # noqa: B009 - set by every scheme
        state.security_schemes[name] = jsonable_encoder(model, by_alias=True, exclude_none=True)
        scopes = scopes_by_name.setdefault(name, [])
        scopes.extend(s for s in dependant.oauth_scopes if s not in scopes)
    return [{name: scopes} for name, scopes in scopes_by_name.items()]


def _operation_id(route: APIRoute, state: DocumentState) -> str:
    operation_id: str = route.operation_id or route.unique_id
    if operation_id in state.operation_ids:
        endpoint_name = getattr(route.endpoint, "__name__", repr(route.endpoint))
        message = f"Duplicate Operation ID {operation_id} for function {endpoint_name}"
        file_name = getattr(route.endpoint, "__globals__", {}).get("__file__")
        if file_name:
            message += f" at {file_name}"
        warnings.warn(message, stacklevel=1)
    state.operation_ids.add(operation_id)
    return operation_id


def _has_request_input(route: APIRoute) -> bool:
    if route.body_field is not None:
        return True
    return any(_request_params(route.dependant, source) for source in _PARAM_SOURCES)


def _operation(route: APIRoute, method: str, state: DocumentState) -> dict[str, Any]:
    registry = state.registry
    operation: dict[str, Any] = {}
    if route.tags:
        operation["tags"] = list(route.tags)
    operation["summary"] = route.summary or route.name.replace("_", " ").title()
    if route.description:
        operation["description"] = route.description
    operation["operationId"] = _operation_id(route, state)
    if route.deprecated:
        operation["deprecated"] = route.deprecated
    security = _security(route, state)
    if security:
        operation["security"] = security
    parameters = _parameters(route, registry)
    if parameters:
        operation["parameters"] = parameters
    if method in METHODS_WITH_BODY:
        request_body = _request_body(route, registry)
        if request_body:
            operation["requestBody"] = request_body
    callbacks = _callbacks(route, state)
    if callbacks:
        operation["callbacks"] = callbacks
    responses, added_422 = build_responses(
        route, registry, validation=_has_request_input(route), limits=state.limit_responses
    )
    operation["responses"] = responses
    state.needs_validation_error |= added_422
    if route.openapi_extra:
        deep_dict_update(operation, route.openapi_extra)
    return operation


def _callbacks(route: APIRoute, state: DocumentState) -> dict[str, Any]:
    callbacks: dict[str, Any] = {}
    for callback in _callback_routes(route):
        callbacks[callback.name] = {callback.path: build_path_item(callback, state)}
    return callbacks


def build_path_item(route: APIRoute, state: DocumentState) -> dict[str, Any]:
    """The operations of ``route``, by lower-cased method (its path item's entries)."""
    return {method.lower(): _operation(route, method, state) for method in sorted(route.methods)}
