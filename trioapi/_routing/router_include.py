"""How ``APIRouter.include_router`` copies routes: FastAPI's merging rules.

Each route of the included router is registered again on the including
router (``APIRouter.include_router``), under ``parent.prefix + include prefix +
route path``. Typed routes go through the parent's ``add_api_route`` with the
keywords worked out here, and the parent adds its own settings in front, so the
final order is always parent, include call, route.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Any

from trioapi._routing.api_route import APIRoute
from trioapi._routing.routes import BaseRoute
from trioapi._settings import Limits
from trioapi.datastructures import DefaultPlaceholder
from trioapi.exceptions import TrioAPIError
from trioapi.params import Depends
from trioapi.responses import Response

__all__ = ["Inclusion", "check_prefix", "first_given", "included_api_route_options"]

UniqueIdFunction = Callable[[Any], str]

# Route settings an included APIRoute keeps as they are.
_COPIED_OPTIONS = (
    "response_model",
    "status_code",
    "summary",
    "description",
    "response_description",
    "operation_id",
    "response_model_include",
    "response_model_exclude",
    "response_model_by_alias",
    "response_model_exclude_unset",
    "response_model_exclude_defaults",
    "response_model_exclude_none",
    "name",
    "openapi_extra",
)


def check_prefix(prefix: str, where: str) -> None:
    """Refuse a router prefix that would join badly with route paths.

    Raises:
        TrioAPIError: ``prefix`` is not empty and does not start with ``/``,
            or ends with ``/``.
    """
    if prefix and not prefix.startswith("/"):
        raise TrioAPIError(
            f"{where}: the prefix {prefix!r} must start with '/'. Use {'/' + prefix!r}."
        )
    if prefix.endswith("/"):
        raise TrioAPIError(
            f"{where}: the prefix {prefix!r} must not end with '/', as route paths start "
            f"with '/'. Use {prefix.rstrip('/')!r}."
        )


def first_given(*values: Any) -> Any:
    """The first value that is not a ``Default(...)`` placeholder, else the first value."""
    for value in values:
        if not isinstance(value, DefaultPlaceholder):
            return value
    return values[0]


class Inclusion:
    """The arguments of one ``include_router`` call."""

    __slots__ = (
        "callbacks",
        "default_response_class",
        "dependencies",
        "deprecated",
        "generate_unique_id_function",
        "include_in_schema",
        "limits",
        "prefix",
        "responses",
        "tags",
    )

    def __init__(
        self,
        *,
        prefix: str,
        tags: list[str | Enum],
        dependencies: list[Depends],
        default_response_class: type[Response] | DefaultPlaceholder,
        responses: dict[int | str, dict[str, Any]],
        callbacks: list[BaseRoute],
        deprecated: bool | None,
        include_in_schema: bool,
        generate_unique_id_function: UniqueIdFunction | DefaultPlaceholder,
        limits: Limits,
    ) -> None:
        self.limits = limits
        self.prefix = prefix
        self.tags = tags
        self.dependencies = dependencies
        self.default_response_class = default_response_class
        self.responses = responses
        self.callbacks = callbacks
        self.deprecated = deprecated
        self.include_in_schema = include_in_schema
        self.generate_unique_id_function = generate_unique_id_function


def included_api_route_options(
    route: APIRoute,
    include: Inclusion,
    *,
    response_class: Any,
    generate_unique_id_function: Any,
) -> dict[str, Any]:
    """The ``add_api_route`` keywords that register ``route`` again under ``include``.

    Args:
        route: A typed route of the included router.
        include: The ``include_router`` call's arguments.
        response_class: The included router's ``default_response_class``.
        generate_unique_id_function: The included router's own function.

    Returns:
        Every keyword but the path and the endpoint: the route's settings with
        the include call's merged in (the including router adds its own).
    """
    options: dict[str, Any] = {name: getattr(route, name) for name in _COPIED_OPTIONS}
    # The innermost setting wins: the route's (its router's already merged in),
    # then this include call's, then the parent's (merged in by add_api_route).
    options["limits"] = include.limits.merge(getattr(route, "limits", include.limits))
    return {
        **options,
        "methods": route.methods,
        "route_class_override": type(route),
        "tags": [*include.tags, *route.tags],
        "dependencies": [*include.dependencies, *route.dependencies],
        "responses": {**include.responses, **route.responses},
        "callbacks": [*include.callbacks, *(route.callbacks or [])],
        "deprecated": route.deprecated or include.deprecated,
        "include_in_schema": route.include_in_schema and include.include_in_schema,
        "response_class": first_given(
            route.response_class, response_class, include.default_response_class
        ),
        "generate_unique_id_function": first_given(
            route.generate_unique_id_function,
            generate_unique_id_function,
            include.generate_unique_id_function,
        ),
    }
