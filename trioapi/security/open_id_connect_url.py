"""OpenID Connect, described in the docs by its discovery URL."""

from trioapi.exceptions import HTTPException
from trioapi.openapi.models import OpenIdConnect as OpenIdConnectModel
from trioapi.requests import HTTPConnection
from trioapi.security.base import SecurityBase, build_not_authenticated_error

__all__ = ["OpenIdConnect"]


class OpenIdConnect(SecurityBase):
    """OpenID Connect authentication.

    Use an instance as a dependency; it resolves to the whole ``Authorization``
    header value, unverified: checking the token is the application's job.

    Args:
        openIdConnectUrl: The provider's discovery document URL.
        scheme_name: The scheme's key in the OpenAPI document (default: the class name).
        description: The scheme's description in the OpenAPI document.
        auto_error: Answer 401 (``WWW-Authenticate: Bearer``) when the header is
            missing; with ``False`` the dependency resolves to ``None``.
    """

    model: OpenIdConnectModel

    def __init__(
        self,
        *,
        openIdConnectUrl: str,
        scheme_name: str | None = None,
        description: str | None = None,
        auto_error: bool = True,
    ) -> None:
        self.model = OpenIdConnectModel(openIdConnectUrl=openIdConnectUrl, description=description)
        self.scheme_name = scheme_name or type(self).__name__
        self.auto_error = auto_error

    def make_not_authenticated_error(self) -> HTTPException:
        """Build the error for a missing header: 401 with ``WWW-Authenticate: Bearer``.

        Override it to answer differently (FastAPI answered 403 before 0.122).
        """
        return build_not_authenticated_error("Bearer")

    async def __call__(self, request: HTTPConnection) -> str | None:
        """Return the raw ``Authorization`` header. Not a checkpoint.

        Raises:
            HTTPException: 401 when the header is missing and ``auto_error`` is on.
        """
        authorization = request.headers.get("Authorization")
        if authorization:
            return authorization
        if self.auto_error:
            raise self.make_not_authenticated_error()
        return None
