"""OpenID Connect, described in the docs by its discovery URL."""

from trioapi.openapi.models import OpenIdConnect as OpenIdConnectModel
from trioapi.security.base import AuthorizationHeaderScheme

__all__ = ["OpenIdConnect"]


class OpenIdConnect(AuthorizationHeaderScheme):
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
