"""The options every route decorator accepts, declared once.

``get``, ``post``, ... ``api_route`` and ``add_api_route`` all take
``**options: Unpack[RouteOptions]``; what each option means is documented
here and nowhere else. A key left out means "not given": the router fills in
its own default (its tags, dependencies, default response class, ...).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import Enum
from typing import TYPE_CHECKING, Any

from trioapi._settings import LimitOptions

if TYPE_CHECKING:
    from trioapi._routing.routes import BaseRoute
    from trioapi.datastructures import DefaultPlaceholder
    from trioapi.encoders import IncEx
    from trioapi.params import Depends
    from trioapi.responses import Response

__all__ = ["ROUTE_OPTION_NAMES", "RouteOptions"]


class RouteOptions(LimitOptions, total=False):
    """Keyword options of a path operation, shared by every verb decorator.

    Besides these, the request settings of :class:`trioapi.Limits`
    (``timeout=``, ``max_body_size=``, ..., or a whole ``limits=`` value),
    declared once in :class:`~trioapi._settings.LimitOptions`: each one given
    replaces the router's and the app's for this route.

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


ROUTE_OPTION_NAMES: frozenset[str] = frozenset(RouteOptions.__annotations__)
"""The option names, for checking ``**options`` passed without static types."""
