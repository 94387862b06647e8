"""API keys read from a query parameter, a header or a cookie."""

from collections.abc import Mapping
from typing import ClassVar

from trioapi.exceptions import HTTPException
from trioapi.openapi.models import APIKey, APIKeyIn
from trioapi.requests import HTTPConnection
from trioapi.security.base import SecurityBase, build_not_authenticated_error

__all__ = ["APIKeyBase", "APIKeyCookie", "APIKeyHeader", "APIKeyQuery"]


class APIKeyBase(SecurityBase):
    """Shared behaviour of the API key schemes.

    Attributes:
        model: The OpenAPI ``apiKey`` scheme: where the key is sent and its name.
        scheme_name: The key of the scheme in ``components.securitySchemes``.
        auto_error: Answer 401 when the key is missing (``True``), or let the
            dependency resolve to ``None`` so the endpoint decides.
    """

    model: APIKey

    def __init__(
        self,
        location: APIKeyIn,
        name: str,
        description: str | None,
        scheme_name: str | None,
        auto_error: bool,
    ) -> None:
        # "in" is a keyword, so the model is built from its aliases.
        self.model = APIKey.model_validate(
            {"in": location, "name": name, "description": description}
        )
        self.scheme_name = scheme_name or type(self).__name__
        self.auto_error = auto_error

    def make_not_authenticated_error(self) -> HTTPException:
        """Build the error for a missing key: 401 with ``WWW-Authenticate: APIKey``.

        Override it to answer differently (FastAPI answered 403 before 0.122).
        """
        # APIKey is not a registered HTTP auth scheme; FastAPI sends this
        # challenge so the 401 still carries one, as RFC 9110 asks.
        return build_not_authenticated_error("APIKey")

    def check_api_key(self, api_key: str | None) -> str | None:
        """Return the key, or fail (or return ``None``) when it is missing or empty.

        Raises:
            HTTPException: The key is missing and ``auto_error`` is on.
        """
        if api_key:
            return api_key
        if self.auto_error:
            raise self.make_not_authenticated_error()
        return None


class _APIKeyFrom(APIKeyBase):
    """An API key read from one place of the request; subclasses say which.

    Use an instance as a dependency; it resolves to the key as a string.

    Args:
        name: The query parameter's, header's (case-insensitive) or cookie's name.
        scheme_name: The scheme's name in the OpenAPI document (default: the class name).
        description: The scheme's description in the OpenAPI document.
        auto_error: Answer 401 when the key is missing; with ``False`` the
            dependency resolves to ``None`` instead.
    """

    location: ClassVar[APIKeyIn]

    def __init__(
        self,
        *,
        name: str,
        scheme_name: str | None = None,
        description: str | None = None,
        auto_error: bool = True,
    ) -> None:
        super().__init__(self.location, name, description, scheme_name, auto_error)

    def read(self, request: HTTPConnection) -> Mapping[str, str]:
        """Where the key is looked up (query parameters, headers or cookies)."""
        raise NotImplementedError  # pragma: no cover - each subclass says

    async def __call__(self, request: HTTPConnection) -> str | None:
        """Read the key from the request. Not a checkpoint."""
        return self.check_api_key(self.read(request).get(self.model.name))


class APIKeyQuery(_APIKeyFrom):
    """An API key in the query string, ``?{name}=key`` (arguments: see ``_APIKeyFrom``)."""

    location = APIKeyIn.query

    def read(self, request: HTTPConnection) -> Mapping[str, str]:
        return request.query_params


class APIKeyHeader(_APIKeyFrom):
    """An API key in the request header ``name`` (arguments: see ``_APIKeyFrom``)."""

    location = APIKeyIn.header

    def read(self, request: HTTPConnection) -> Mapping[str, str]:
        return request.headers


class APIKeyCookie(_APIKeyFrom):
    """An API key in the cookie ``name`` (arguments: see ``_APIKeyFrom``)."""

    location = APIKeyIn.cookie

    def read(self, request: HTTPConnection) -> Mapping[str, str]:
        return request.cookies
