"""The options every route decorator accepts, declared once.

``get``, ``post``, ... ``api_route`` and ``add_api_route`` all take
``**options: Unpack[RouteOptions]``; what each option means is documented
here and nowhere else. A key left out means "not given": the router fills in
its own default (its tags, dependencies, default response class, ...).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import Enum
from typing import TYPE_CHECKING, Any, TypedDict

if TYPE_CHECKING:
    from trioapi._routing.routes import BaseRoute
    from trioapi.datastructures import DefaultPlaceholder
    from trioapi.encoders import IncEx
    from trioapi.params import Depends
    from trioapi.responses import Response

__all__ = ["ROUTE_OPTION_NAMES", "RouteOptions"]


class RouteOptions(TypedDict, total=False):
    """Keyword options of a path operation, shared by every verb decorator.

    Attributes:
        response_model: The type the return value is validated against and
            serialized with. Defaults to the return annotation; ``None`` turns
            validation off.
        status_code: The default status code of the response.
        tags: OpenAPI tags, appended to the router's.
        dependencies: ``Depends(...)`` run before the endpoint whose values are
            not passed to it; appended to the router's.
        summary: OpenAPI summary.
        description: OpenAPI description; defaults to the endpoint's docstring.
        response_description: OpenAPI description of the default response.
        responses: Extra OpenAPI responses by status code, merged over the router's.
        deprecated: Mark the operation deprecated in OpenAPI.
        operation_id: OpenAPI ``operationId``; defaults to the unique id.
        response_model_include: Fields of the response model to keep.
        response_model_exclude: Fields of the response model to drop.
        response_model_by_alias: Serialize fields under their aliases.
        response_model_exclude_unset: Leave out fields never set explicitly.
        response_model_exclude_defaults: Leave out fields equal to their default.
        response_model_exclude_none: Leave out fields whose value is ``None``.
        include_in_schema: List the operation in the OpenAPI document.
        response_class: The response class used for returned data; defaults to
            the router's ``default_response_class``.
        name: The route name for ``url_path_for``; defaults to the endpoint's name.
        callbacks: OpenAPI callbacks, appended to the router's.
        openapi_extra: Extra keys merged into the OpenAPI operation.
        generate_unique_id_function: Builds the operation's unique id from the route.
        timeout: Seconds the whole request may take, counted from its start;
            replaces the router's and the app's (``None``: no deadline). When
            it passes before the response has started the client gets 504
            (see ``trioapi.exceptions.RequestTimeout``); once the response
            has started, the stream is ended.
        cancel_on_disconnect: Cancel the endpoint when the client goes away;
            replaces the router's and the app's setting.
        max_body_size: Largest request body in bytes (413 above it, at once
            when ``Content-Length`` says so); replaces the router's and the
            app's, lower or higher (``None``: no limit).
        body_timeout: Seconds to receive the whole request body, counted
            from the first read (408 after it); replaces the router's and the
            app's (``None``: no deadline).
        min_body_rate: Slowest average rate, in bytes per second, at which
            the body may arrive once a 10 s grace period from the first read
            is over (408 below it); replaces the router's and the app's
            (``None``: no minimum).
        send_timeout: Seconds one response message may wait for a client
            that does not read (the endpoint is then cancelled as on a
            disconnect); replaces the router's and the app's (``None``: no
            limit).
        max_form_files: Most file parts in a multipart body parsed by
            ``Request.form()`` or ``File()``/``Form()`` parameters (400
            above it); replaces the router's and the app's (``None``: no limit).
        max_form_fields: Most non-file parts in a multipart body (400 above
            it); replaces the router's and the app's (``None``: no limit).
        max_form_part_size: Largest non-file part of a multipart body, in
            bytes (400 above it); replaces the router's and the app's
            (``None``: no limit).
        max_form_header_count: Most headers in one part of a multipart body
            (400 above it); replaces the router's and the app's (``None``:
            no limit).
        max_form_header_size: Longest header line of a multipart part, in
            bytes (400 above it); replaces the router's and the app's
            (``None``: no limit).
        max_json_depth: Deepest nesting of arrays/objects in a JSON body read
            by the endpoint (422 past it); replaces the router's and the app's
            (``None``: no limit).
    """

    response_model: Any
    status_code: int | None
    tags: list[str | Enum] | None
    dependencies: Sequence[Depends] | None
    summary: str | None
    description: str | None
    response_description: str
    responses: dict[int | str, dict[str, Any]] | None
    deprecated: bool | None
    operation_id: str | None
    response_model_include: IncEx | None
    response_model_exclude: IncEx | None
    response_model_by_alias: bool
    response_model_exclude_unset: bool
    response_model_exclude_defaults: bool
    response_model_exclude_none: bool
    include_in_schema: bool
    response_class: type[Response] | DefaultPlaceholder
    name: str | None
    callbacks: list[BaseRoute] | None
    openapi_extra: dict[str, Any] | None
    generate_unique_id_function: Callable[[Any], str] | DefaultPlaceholder
    timeout: float | DefaultPlaceholder | None
    cancel_on_disconnect: bool | None
    max_body_size: int | DefaultPlaceholder | None
    body_timeout: float | DefaultPlaceholder | None
    min_body_rate: float | DefaultPlaceholder | None
    max_json_depth: int | DefaultPlaceholder | None
    send_timeout: float | DefaultPlaceholder | None
    max_form_files: int | DefaultPlaceholder | None
    max_form_fields: int | DefaultPlaceholder | None
    max_form_part_size: int | DefaultPlaceholder | None
    max_form_header_count: int | DefaultPlaceholder | None
    max_form_header_size: int | DefaultPlaceholder | None


ROUTE_OPTION_NAMES: frozenset[str] = frozenset(RouteOptions.__annotations__)
"""The option names, for checking ``**options`` passed without static types."""
