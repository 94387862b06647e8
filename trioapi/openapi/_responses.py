"""The ``responses`` object of an operation.

The route's own response (status code, description, the response model's
schema under the response class's media type), the ``responses=`` it
declares, and the 422 answer of a route that validates its request.
"""

from __future__ import annotations

import http.client
import inspect
from typing import TYPE_CHECKING, Any

from trioapi._routing.endpoint_stream import JSON_LINES
from trioapi._routing.response_model import is_body_allowed_for_status_code
from trioapi._settings import NOT_GIVEN
from trioapi.datastructures import DefaultPlaceholder
from trioapi.openapi._schemas import SchemaRegistry
from trioapi.openapi.constants import REF_PREFIX
from trioapi.responses import JSONResponse, Response, StreamingResponse
from trioapi.sse import EventSourceResponse

if TYPE_CHECKING:
    from trioapi._routing.api_route import APIRoute

__all__ = ["build_responses", "deep_dict_update", "register_response_fields"]

_STATUS_RANGES = {
    "1XX": "Information",
    "2XX": "Success",
    "3XX": "Redirection",
    "4XX": "Client Error",
    "5XX": "Server Error",
    "DEFAULT": "Default Response",
}


def deep_dict_update(main: dict[Any, Any], update: dict[Any, Any]) -> None:
    """Merge ``update`` into ``main``: dicts recursively, lists concatenated, the rest replaced."""
    for key, value in update.items():
        current = main.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            deep_dict_update(current, value)
        elif isinstance(current, list) and isinstance(value, list):
            main[key] = current + value
        else:
            main[key] = value


def _validation_error_response() -> dict[str, Any]:
    schema = {"$ref": f"{REF_PREFIX}HTTPValidationError"}
    return {"description": "Validation Error", "content": {"application/json": {"schema": schema}}}


def _response_class(route: APIRoute) -> type[Response]:
    response_class = route.response_class
    if isinstance(response_class, DefaultPlaceholder):
        response_class = response_class.value
    return response_class


def _is_json_lines(route: APIRoute) -> bool:
    return route.is_stream_endpoint and not issubclass(_response_class(route), StreamingResponse)


def _is_event_stream(route: APIRoute) -> bool:
    return route.is_stream_endpoint and issubclass(_response_class(route), EventSourceResponse)


def _event_item_schema(route: APIRoute, registry: SchemaRegistry) -> dict[str, Any]:
    """The schema of one server-sent event; ``data`` holds the item's JSON when typed."""
    data: dict[str, Any] = {"type": "string"}
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "data": data,
            "event": {"type": "string"},
            "id": {"type": "string"},
            "retry": {"type": "integer", "minimum": 0},
        },
    }
    adapter = _stream_adapter(route)
    if adapter is not None:
        field = registry.response(adapter, _stream_item_name(route))
        data["contentMediaType"] = "application/json"
        data["contentSchema"] = registry.schema(field)
        schema["required"] = ["data"]
    return schema


def _stream_item_name(route: APIRoute) -> str:
    # FastAPI's name for a streamed item's schema (its title when not a model).
    return f"StreamItem_{route.unique_id}"


def _stream_adapter(route: APIRoute) -> Any:
    stream = getattr(route.response_builder, "stream", None)
    return getattr(stream, "adapter", None)


def register_response_fields(route: APIRoute, registry: SchemaRegistry) -> None:
    """Register the schemas of ``route``'s responses (its model, streamed items, extras)."""
    if _is_json_lines(route) or _is_event_stream(route):
        adapter = _stream_adapter(route)
        if adapter is not None:
            registry.response(adapter, _stream_item_name(route))
    elif route.response_field is not None:
        registry.response(route.response_field, f"Response_{route.unique_id}")
    for code, adapter in route.response_fields.items():
        registry.response(adapter, f"Response_{code}_{route.unique_id}")


def _default_status_code(route: APIRoute) -> str:
    if route.status_code is not None:
        return str(route.status_code)
    init = _response_class(route).__init__
    parameter = inspect.signature(init).parameters.get("status_code")
    if parameter is not None and isinstance(parameter.default, int):
        return str(parameter.default)
    return "200"


def _main_content(route: APIRoute, registry: SchemaRegistry) -> dict[str, Any] | None:
    if _is_event_stream(route):
        event_media = _response_class(route).media_type or EventSourceResponse.media_type
        return {event_media: {"itemSchema": _event_item_schema(route, registry)}}
    if _is_json_lines(route):
        adapter = _stream_adapter(route)
        name = _stream_item_name(route)
        item_schema = registry.schema(registry.response(adapter, name)) if adapter else {}
        return {JSON_LINES: {"itemSchema": item_schema}}
    response_class = _response_class(route)
    media_type = response_class.media_type
    if not media_type or not is_body_allowed_for_status_code(route.status_code):
        return None
    schema: dict[str, Any] = {"type": "string"}
    if issubclass(response_class, JSONResponse):
        schema = {}
        if route.response_field is not None:
            field = registry.response(route.response_field, f"Response_{route.unique_id}")
            schema = registry.schema(field)
    return {media_type: {"schema": schema}}


def _status_text(code: int | str) -> str | None:
    key = str(code).upper()
    if key in _STATUS_RANGES:
        return _STATUS_RANGES[key]
    try:
        return http.client.responses.get(int(code))
    except ValueError:
        return None


def _merge_extra(
    route: APIRoute, registry: SchemaRegistry, responses: dict[str, Any], code: int | str
) -> None:
    extra = dict(route.responses[code])
    extra.pop("model", None)
    key = str(code).upper()
    if not (key.isdigit() or key in _STATUS_RANGES):
        # As FastAPI: the document would not be valid OpenAPI.
        raise ValueError(
            f"{route.path}: responses key {code!r} is not a status code, a range like '4XX', "
            "or 'default'."
        )
    if key == "DEFAULT":
        key = "default"
    response = responses.setdefault(key, {})
    adapter = route.response_fields.get(code)
    if adapter is not None:
        schema = registry.schema(registry.response(adapter, f"Response_{code}_{route.unique_id}"))
        media_type = _response_class(route).media_type or "application/json"
        content = extra.setdefault("content", {})
        # Copy the nested levels so the route's own responses= dict is never changed.
        content = extra["content"] = dict(content)
        media = content[media_type] = dict(content.get(media_type, {}))
        media_schema = media["schema"] = dict(media.get("schema", {}))
        deep_dict_update(media_schema, schema)
    description = (
        extra.get("description")
        or response.get("description")
        or _status_text(code)
        or "Additional Response"
    )
    deep_dict_update(response, extra)
    response["description"] = description


_HTTP_ERROR_SCHEMA = {
    "type": "object",
    "title": "HTTPError",
    "properties": {"detail": {"type": "string", "title": "Detail"}},
    "required": ["detail"],
}


def _explicit(value: Any) -> bool:
    """Whether a route setting was given (not left to the router's or app's default) and is on."""
    return value is not None and value is not NOT_GIVEN


def limit_responses(route: APIRoute) -> dict[str, dict[str, Any]]:
    """The 504/413/408 answers a route's own ``timeout=`` and body limits can give.

    Only limits set on the route itself (or its router) count: documents of
    routes that set none stay exactly FastAPI's.
    """
    found: list[tuple[int, str]] = []
    if _explicit(route.limits.timeout):
        found.append((504, "The request took longer than the route's timeout"))
    if route.body_field is not None and _explicit(route.limits.max_body_size):
        found.append((413, "The request body is larger than the route's max_body_size"))
    if route.body_field is not None and _explicit(route.limits.body_timeout):
        found.append((408, "The request body did not arrive within the route's body_timeout"))
    schema = {"application/json": {"schema": _HTTP_ERROR_SCHEMA}}
    return {str(code): {"description": text, "content": schema} for code, text in found}


def build_responses(
    route: APIRoute, registry: SchemaRegistry, *, validation: bool, limits: bool = True
) -> tuple[dict[str, Any], bool]:
    """The operation's ``responses``, and whether the 422 ``HTTPValidationError`` was added.

    Args:
        route: The route.
        registry: The generated schemas.
        validation: The route reads parameters or a body, so it may answer 422.
        limits: Document the 504/413/408 answers of the route's own limits
            (:func:`limit_responses`); ``responses=`` the route declares win.
    """
    responses: dict[str, Any] = {}
    main = responses.setdefault(_default_status_code(route), {})
    main["description"] = route.response_description
    content = _main_content(route, registry)
    if content is not None:
        main["content"] = content
    for code in route.responses:
        _merge_extra(route, registry, responses, code)
    if limits:
        for code, response in limit_responses(route).items():
            responses.setdefault(code, response)
    added = False
    if validation and not any(key in responses for key in ("422", "4XX", "default")):
        responses["422"] = _validation_error_response()
        added = True
    return responses, added
