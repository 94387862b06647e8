"""API keys read from a query parameter, a header or a cookie."""

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
        self.model = APIKey.model_validate({"in": location, "name": name, "description": description})
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


class APIKeyQuery(APIKeyBase):
    """An API key in the query string: ``?{name}=key``.

    Use an instance as a dependency; it resolves to the key as a string.

    Args:
        name: The query parameter's name.
        scheme_name: The scheme's name in the OpenAPI document (default: the class name).
        description: The scheme's description in the OpenAPI document.
        auto_error: Answer 401 when the key is missing; with ``False`` the
            dependency resolves to ``None`` instead.
    """

    def __init__(
        self,
        *,
        name: str,
        scheme_name: str | None = None,
        description: str | None = None,
        auto_error: bool = True,
    ) -> None:
        super().__init__(APIKeyIn.query, name, description, scheme_name, auto_error)

    async def __call__(self, request: HTTPConnection) -> str | None:
        """Read the key from the query string. Not a checkpoint."""
        return self.check_api_key(request.query_params.get(self.model.name))


class APIKeyHeader(APIKeyBase):
    """An API key in a request header called ``name``.

    Use an instance as a dependency; it resolves to the key as a string.

    Args:
        name: The header's name (matched case-insensitively).
        scheme_name: The scheme's name in the OpenAPI document (default: the class name).
        description: The scheme's description in the OpenAPI document.
        auto_error: Answer 401 when the key is missing; with ``False`` the
            dependency resolves to ``None`` instead.
    """

    def __init__(
        self,
        *,
        name: str,
        scheme_name: str | None = None,
        description: str | None = None,
        auto_error: bool = True,
    ) -> None:
        super().__init__(APIKeyIn.header, name, description, scheme_name, auto_error)

    async def __call__(self, request: HTTPConnection) -> str | None:
        """Read the key from the request headers. Not a checkpoint."""
        return self.check_api_key(request.headers.get(self.model.name))


class APIKeyCookie(APIKeyBase):
    """An API key in a cookie called ``name``.

    Use an instance as a dependency; it resolves to the key as a string.

    Args:
        name: The cookie's name.
        scheme_name: The scheme's name in the OpenAPI document (default: the class name).
        description: The scheme's description in the OpenAPI document.
        auto_error: Answer 401 when the key is missing; with ``False`` the
            dependency resolves to ``None`` instead.
    """

    def __init__(
        self,
        *,
        name: str,
        scheme_name: str | None = None,
        description: str | None = None,
        auto_error: bool = True,
    ) -> None:
        super().__init__(APIKeyIn.cookie, name, description, scheme_name, auto_error)

    async def __call__(self, request: HTTPConnection) -> str | None:
        """Read the key from the request cookies. Not a checkpoint."""
        return self.check_api_key(request.cookies.get(self.model.name))
