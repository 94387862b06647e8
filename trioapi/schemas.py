"""OpenAPI from docstrings, for toolkit-level apps: ``SchemaGenerator``, ``OpenAPIResponse``.

Each endpoint documents itself in YAML in its docstring (after a ``---``
line, if the docstring also has prose); the generator walks the routes and
puts each piece under its path and method. ``TrioAPI`` apps get a full
OpenAPI document from their type hints instead (``trioapi.openapi``).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from trioapi._routing.router import Mount
from trioapi._routing.routes import BaseRoute, Host, Route
from trioapi.requests import Request
from trioapi.responses import Response

try:
    import yaml  # type: ignore[import-untyped]  # pyyaml ships no type hints
except ModuleNotFoundError:  # the schemas extra is optional
    yaml = None

__all__ = ["BaseSchemaGenerator", "EndpointInfo", "OpenAPIResponse", "SchemaGenerator"]

_NO_YAML = (
    "{what} reads YAML with pyyaml, which is not installed. "
    "Install it with `pip install pyyaml` (or `pip install 'trioapi[schemas]'`)."
)
# A method-based endpoint (HTTPEndpoint) documents each method it defines.
_METHODS = ("get", "post", "put", "patch", "delete", "options", "query")
# "{id:int}" is "{id}" in OpenAPI: the convertor is routing detail.
_CONVERTOR = re.compile(r":\w+}")


class OpenAPIResponse(Response):
    """An OpenAPI document (a dict) sent as YAML, ``application/vnd.oai.openapi``."""

    media_type = "application/vnd.oai.openapi"

    def render(self, content: Any) -> bytes:
        """The document as YAML bytes.

        Raises:
            ModuleNotFoundError: pyyaml is not installed.
            TypeError: ``content`` is not a dict.
        """
        if yaml is None:
            raise ModuleNotFoundError(_NO_YAML.format(what="OpenAPIResponse"), name="yaml")
        if not isinstance(content, dict):
            raise TypeError(
                "The schema passed to OpenAPIResponse should be a dictionary, "
                f"got {type(content).__name__}."
            )
        document: str = yaml.dump(content, default_flow_style=False)
        return document.encode("utf-8")


class EndpointInfo(NamedTuple):
    """One documented operation: its path, lower-case method, and the function holding the docs."""

    path: str
    http_method: str
    func: Callable[..., Any]


class BaseSchemaGenerator:
    """Walks routes to find what each endpoint documents; subclasses assemble the document."""

    def get_schema(self, routes: list[BaseRoute]) -> dict[str, Any]:
        """The OpenAPI document for ``routes``."""
        raise NotImplementedError

    def get_endpoints(self, routes: Sequence[BaseRoute]) -> list[EndpointInfo]:
        """Every operation under ``routes``, looking inside ``Mount`` and ``Host``.

        ``HEAD`` is skipped (it mirrors ``GET``), as are WebSocket routes and
        routes with ``include_in_schema=False``.
        """
        found: list[EndpointInfo] = []
        for route in routes:
            if isinstance(route, Mount | Host):
                prefix = self._remove_converter(route.path) if isinstance(route, Mount) else ""
                for inner in self.get_endpoints(route.routes or []):
                    found.append(inner._replace(path=prefix + inner.path))
            elif isinstance(route, Route) and route.include_in_schema:
                found.extend(self._route_endpoints(route))
        return found

    def _route_endpoints(self, route: Route) -> list[EndpointInfo]:
        path = self._remove_converter(route.path)
        endpoint = route.endpoint
        if inspect.isfunction(endpoint) or inspect.ismethod(endpoint):
            methods = route.methods or ["GET"]
            return [EndpointInfo(path, m.lower(), endpoint) for m in methods if m != "HEAD"]
        return [
            EndpointInfo(path, method, getattr(endpoint, method))
            for method in _METHODS
            if hasattr(endpoint, method)
        ]

    def _remove_converter(self, path: str) -> str:
        """``/users/{id:int}`` -> ``/users/{id}``."""
        return _CONVERTOR.sub("}", path)

    def parse_docstring(self, func_or_method: Callable[..., Any]) -> dict[str, Any]:
        """The YAML mapping in the docstring (after its last ``---``), or ``{}``.

        A docstring that is prose only gives ``{}``.

        Raises:
            ModuleNotFoundError: pyyaml is not installed (and there is a docstring).
        """
        docstring = func_or_method.__doc__
        if not docstring:
            return {}
        if yaml is None:
            raise ModuleNotFoundError(_NO_YAML.format(what="parse_docstring"), name="yaml")
        parsed = yaml.safe_load(docstring.split("---")[-1])
        return parsed if isinstance(parsed, dict) else {}

    def OpenAPIResponse(self, request: Request) -> Response:  # Starlette's public name
        """A response with the document of ``request.app``'s routes."""
        return OpenAPIResponse(self.get_schema(routes=request.app.routes))


class SchemaGenerator(BaseSchemaGenerator):
    """Builds the document from a base (``openapi``, ``info``...) plus each endpoint's docstring.

    ``QUERY`` operations are only listed when the base says OpenAPI 3.2 or later.

    Args:
        base_schema: the document's fixed part.
    """

    def __init__(self, base_schema: dict[str, Any]) -> None:
        self.base_schema = base_schema

    def get_schema(self, routes: list[BaseRoute]) -> dict[str, Any]:
        """The base schema with a ``paths`` entry for every documented operation."""
        schema = dict(self.base_schema)
        paths: dict[str, dict[str, Any]] = schema.setdefault("paths", {})
        query_allowed = _openapi_version(schema) >= (3, 2)
        for endpoint in self.get_endpoints(routes):
            if endpoint.http_method == "query" and not query_allowed:
                continue
            parsed = self.parse_docstring(endpoint.func)
            if parsed:
                paths.setdefault(endpoint.path, {})[endpoint.http_method] = parsed
        return schema


def _openapi_version(schema: dict[str, Any]) -> tuple[int, int]:
    match = re.match(r"^(\d+)\.(\d+)", str(schema.get("openapi", "")))
    return (int(match[1]), int(match[2])) if match else (0, 0)
