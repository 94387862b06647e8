"""The default ``generate_unique_id_function``: FastAPI's operation ids."""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Protocol

from trioapi.exceptions import TrioAPIError

__all__ = ["generate_unique_id"]

_NON_WORD = re.compile(r"\W")


class _NamedRoute(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def path_format(self) -> str: ...

    @property
    def methods(self) -> Collection[str] | None: ...


def generate_unique_id(route: _NamedRoute) -> str:
    """The OpenAPI ``operationId`` of ``route``: name, path and method, as FastAPI builds it.

    ``read_item`` at ``/items/{item_id}`` answering GET becomes
    ``read_item_items__item_id__get``: every non-word character of name plus
    path becomes ``_``, then ``_`` and the lower-cased method are appended.
    A route with several methods uses the alphabetically first one, so the id
    does not depend on set ordering.

    Raises:
        TrioAPIError: the route has no methods.
    """
    if not route.methods:
        raise TrioAPIError(
            f"Route {route.name!r} at {route.path_format!r} has no HTTP methods, so it has no "
            "operation id. Give it methods=[...], or pass generate_unique_id_function= to name it."
        )
    method = sorted(route.methods)[0]
    return f"{_NON_WORD.sub('_', route.name + route.path_format)}_{method.lower()}"
