"""Exceptions raised by endpoints and by trioapi itself."""

from __future__ import annotations

import http
import http.client
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

__all__ = [
    "DependencyScopeError",
    "EndpointContext",
    "HTTPException",
    "InvalidDeclarationError",
    "PydanticV1NotSupportedError",
    "RequestTimeout",
    "RequestValidationError",
    "ResponseValidationError",
    "TrioAPIDeprecationWarning",
    "TrioAPIError",
    "ValidationException",
    "WebSocketException",
    "WebSocketRequestValidationError",
]


class TrioAPIError(RuntimeError):
    """A configuration mistake in the application, raised at registration time."""


class InvalidDeclarationError(TrioAPIError, AssertionError):
    """A declaration FastAPI refuses with an ``AssertionError`` (a path parameter of a list type, a router including itself, ...).

    It is both a ``TrioAPIError`` and an ``AssertionError``, so code and
    tests written for FastAPI still catch it; its message starts with
    FastAPI's and goes on with where and the fix.
    """


class DependencyScopeError(TrioAPIError):
    """A request-scoped ``yield`` dependency depends on a function-scoped one."""


class PydanticV1NotSupportedError(TrioAPIError):
    """A ``pydantic.v1`` model is used (a parameter, a response model, a value to encode).

    Only pydantic 2 models are supported, as in FastAPI 0.163.
    """


class HTTPException(Exception):
    """Raise in an endpoint or dependency to answer with an HTTP error.

    The default handler answers ``{"detail": detail}`` with ``status_code`` and
    any ``headers`` given.
    """

    def __init__(
        self,
        status_code: int,
        detail: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if detail is None:
            # A status without a standard phrase (499, 599) gets an empty detail.
            detail = http.client.responses.get(status_code, "")
        self.status_code = status_code
        self.detail = detail
        self.headers = dict(headers) if headers is not None else None
        super().__init__(status_code, detail)

    def __str__(self) -> str:
        return f"{self.status_code}: {self.detail}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status_code={self.status_code!r}, detail={self.detail!r})"


class RequestTimeout(HTTPException):
    """The request's deadline (``timeout=``) passed before its response started: a 504.

    It is never raised inside the endpoint (the request is *cancelled*, so
    every ``finally`` and yield-dependency teardown runs). Once the request's
    scope has closed, trioapi builds the answer with the exception handler
    registered for status 504, for ``RequestTimeout``, or for one of its bases
    (``HTTPException``): by default ``{"detail": "Gateway Timeout"}``.
    """

    def __init__(
        self, detail: Any = "Gateway Timeout", headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(504, detail, headers)


class WebSocketException(Exception):
    """Raise in a WebSocket endpoint to close the connection with ``code`` and ``reason``."""

    def __init__(self, code: int, reason: str | None = None) -> None:
        self.code = code
        self.reason = reason or ""

    def __str__(self) -> str:
        return f"{self.code}: {self.reason}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, reason={self.reason!r})"


class EndpointContext(TypedDict, total=False):
    """Where a validation error happened, as FastAPI reports it: function, file, line, route."""

    function: str
    path: str
    file: str
    line: int


class ValidationException(Exception):
    """Base of the errors that carry a list of pydantic-style error dicts.

    ``endpoint_ctx`` names the endpoint (function, file, line) and its route
    (``"GET /items/{item_id}"``); trioapi fills it in for the errors of a route.
    """

    def __init__(
        self, errors: Sequence[Any], *, endpoint_ctx: EndpointContext | None = None
    ) -> None:
        self._errors = errors
        self.set_endpoint_context(endpoint_ctx)

    def set_endpoint_context(self, endpoint_ctx: EndpointContext | None) -> None:
        """Name the endpoint the error belongs to (see the class docstring)."""
        self.endpoint_ctx = endpoint_ctx
        context = endpoint_ctx or {}
        self.endpoint_function = context.get("function")
        self.endpoint_path = context.get("path")
        self.endpoint_file = context.get("file")
        self.endpoint_line = context.get("line")

    def errors(self) -> Sequence[Any]:
        """The error dicts: ``type``, ``loc``, ``msg``, ``input`` and optionally ``ctx``."""
        return self._errors

    def _format_endpoint_context(self) -> str:
        if not (self.endpoint_file and self.endpoint_line and self.endpoint_function):
            return f"\n  Endpoint: {self.endpoint_path}" if self.endpoint_path else ""
        where = f'\n  File "{self.endpoint_file}", line {self.endpoint_line}, in {self.endpoint_function}'
        return where + (f"\n    {self.endpoint_path}" if self.endpoint_path else "")

    def __str__(self) -> str:
        lines = [f"{len(self._errors)} validation error{'s' if len(self._errors) != 1 else ''}:"]
        lines.extend(f"  {err}" for err in self._errors)
        return ("\n".join(lines) + "\n" + self._format_endpoint_context()).rstrip()


class RequestValidationError(ValidationException):
    """The request did not match the endpoint's declared parameters (answered with 422)."""

    def __init__(
        self,
        errors: Sequence[Any],
        *,
        body: Any = None,
        endpoint_ctx: EndpointContext | None = None,
    ) -> None:
        super().__init__(errors, endpoint_ctx=endpoint_ctx)
        self.body = body


class WebSocketRequestValidationError(ValidationException):
    """A WebSocket's parameters did not validate (the socket is closed with 1008)."""


class ResponseValidationError(ValidationException):
    """The endpoint returned data that does not match its ``response_model`` (a 500)."""

    def __init__(
        self,
        errors: Sequence[Any],
        *,
        body: Any = None,
        endpoint_ctx: EndpointContext | None = None,
    ) -> None:
        super().__init__(errors, endpoint_ctx=endpoint_ctx)
        self.body = body


class TrioAPIDeprecationWarning(UserWarning):
    """A trioapi feature used here is deprecated."""
