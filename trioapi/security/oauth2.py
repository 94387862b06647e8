"""OAuth2 schemes, the password-flow token form, and the scopes a dependency requires."""

from typing import Annotated, Any

from trioapi.dependencies.models import SecurityScopes as SecurityScopes
from trioapi.openapi.models import OAuth2 as OAuth2Model
from trioapi.openapi.models import OAuthFlows as OAuthFlowsModel
from trioapi.param_functions import Form
from trioapi.requests import HTTPConnection
from trioapi.security.base import AuthorizationHeaderScheme
from trioapi.security.utils import get_authorization_scheme_param

__all__ = [
    "OAuth2",
    "OAuth2AuthorizationCodeBearer",
    "OAuth2PasswordBearer",
    "OAuth2PasswordRequestForm",
    "OAuth2PasswordRequestFormStrict",
    "SecurityScopes",
]

# The form fields of the password flow (RFC 6749 section 4.3.2). The DI layer
# reads them from the form body because they are declared with Form().
_GrantType = Annotated[str | None, Form(pattern="^password$")]
_StrictGrantType = Annotated[str, Form(pattern="^password$")]
_Secret = Annotated[str, Form(json_schema_extra={"format": "password"})]
_OptionalSecret = Annotated[str | None, Form(json_schema_extra={"format": "password"})]


class OAuth2PasswordRequestForm:
    """The form a client posts to the token URL in the OAuth2 password flow.

    Use the class itself as a dependency of the token endpoint. ``grant_type``
    may be left out; use ``OAuth2PasswordRequestFormStrict`` to require it.

    Attributes:
        grant_type: ``"password"`` or ``None``.
        username: The user name (the field must be called ``username``).
        password: The password (the field must be called ``password``).
        scopes: The requested scopes: the ``scope`` field split on whitespace.
        client_id: The client's id, if sent in the form.
        client_secret: The client's secret, if sent in the form.
    """

    def __init__(
        self,
        *,
        grant_type: _GrantType = None,
        username: Annotated[str, Form()],
        password: _Secret,
        scope: Annotated[str, Form()] = "",
        client_id: Annotated[str | None, Form()] = None,
        client_secret: _OptionalSecret = None,
    ) -> None:
        self.grant_type = grant_type
        self.username = username
        self.password = password
        self.scopes = scope.split()
        self.client_id = client_id
        self.client_secret = client_secret


class OAuth2PasswordRequestFormStrict(OAuth2PasswordRequestForm):
    """``OAuth2PasswordRequestForm`` that requires ``grant_type=password``, as the spec does."""

    def __init__(
        self,
        grant_type: _StrictGrantType,
        username: Annotated[str, Form()],
        password: Annotated[str, Form()],
        scope: Annotated[str, Form()] = "",
        client_id: Annotated[str | None, Form()] = None,
        client_secret: Annotated[str | None, Form()] = None,
    ) -> None:
        super().__init__(
            grant_type=grant_type,
            username=username,
            password=password,
            scope=scope,
            client_id=client_id,
            client_secret=client_secret,
        )


class OAuth2(AuthorizationHeaderScheme):
    """An OAuth2 scheme with any flows; the base of the specific bearers.

    Use an instance as a dependency; it resolves to the whole ``Authorization``
    header value.

    Args:
        flows: The flows, as an ``OAuthFlows`` model or a plain dict.
        scheme_name: The scheme's key in the OpenAPI document (default: the class name).
        description: The scheme's description in the OpenAPI document.
        auto_error: Answer 401 (``WWW-Authenticate: Bearer``) when the header is
            missing; with ``False`` the dependency resolves to ``None``.
    """

    model: OAuth2Model

    def __init__(
        self,
        *,
        flows: OAuthFlowsModel | dict[str, dict[str, Any]] | None = None,
        scheme_name: str | None = None,
        description: str | None = None,
        auto_error: bool = True,
    ) -> None:
        self.model = OAuth2Model.model_validate(
            {"flows": OAuthFlowsModel() if flows is None else flows, "description": description}
        )
        self.scheme_name = scheme_name or type(self).__name__
        self.auto_error = auto_error

    def _read_bearer_token(self, request: HTTPConnection) -> str | None:
        """Return the token of ``Authorization: Bearer <token>`` (scheme in any case)."""
        authorization = request.headers.get("Authorization")
        scheme, token = get_authorization_scheme_param(authorization)
        if authorization and scheme.lower() == "bearer":
            # An empty token is returned as is, as FastAPI does: the endpoint's
            # own token check turns it down.
            return token
        self._reject()
        return None


class OAuth2PasswordBearer(OAuth2):
    """OAuth2 password flow: a bearer token obtained by posting a user's password.

    Use an instance as a dependency; it resolves to the token string.

    Args:
        tokenUrl: The URL (relative to the API) that issues tokens; the docs'
            login form posts ``OAuth2PasswordRequestForm`` there.
        scheme_name: The scheme's key in the OpenAPI document (default: the class name).
        scopes: The scopes on offer, name to description.
        description: The scheme's description in the OpenAPI document.
        auto_error: Answer 401 (``WWW-Authenticate: Bearer``) when there is no
            Bearer token; with ``False`` the dependency resolves to ``None``.
        refreshUrl: The URL that refreshes tokens, if any.
    """

    def __init__(
        self,
        tokenUrl: str,
        scheme_name: str | None = None,
        scopes: dict[str, str] | None = None,
        description: str | None = None,
        auto_error: bool = True,
        refreshUrl: str | None = None,
    ) -> None:
        password_flow = {"tokenUrl": tokenUrl, "refreshUrl": refreshUrl, "scopes": scopes or {}}
        super().__init__(
            flows=OAuthFlowsModel.model_validate({"password": password_flow}),
            scheme_name=scheme_name,
            description=description,
            auto_error=auto_error,
        )

    async def __call__(self, request: HTTPConnection) -> str | None:
        """Return the Bearer token. Not a checkpoint.

        Raises:
            HTTPException: 401 when there is no Bearer token and ``auto_error`` is on.
        """
        return self._read_bearer_token(request)


class OAuth2AuthorizationCodeBearer(OAuth2):
    """OAuth2 authorization-code flow: a bearer token issued after a redirect.

    Use an instance as a dependency; it resolves to the token string.

    Args:
        authorizationUrl: The URL the user is sent to, to authorize the client.
        tokenUrl: The URL that exchanges the code for a token.
        refreshUrl: The URL that refreshes tokens, if any.
        scheme_name: The scheme's key in the OpenAPI document (default: the class name).
        scopes: The scopes on offer, name to description.
        description: The scheme's description in the OpenAPI document.
        auto_error: Answer 401 (``WWW-Authenticate: Bearer``) when there is no
            Bearer token; with ``False`` the dependency resolves to ``None``.
    """

    def __init__(
        self,
        authorizationUrl: str,
        tokenUrl: str,
        refreshUrl: str | None = None,
        scheme_name: str | None = None,
        scopes: dict[str, str] | None = None,
        description: str | None = None,
        auto_error: bool = True,
    ) -> None:
        code_flow = {
            "authorizationUrl": authorizationUrl,
            "tokenUrl": tokenUrl,
            "refreshUrl": refreshUrl,
            "scopes": scopes or {},
        }
        super().__init__(
            flows=OAuthFlowsModel.model_validate({"authorizationCode": code_flow}),
            scheme_name=scheme_name,
            description=description,
            auto_error=auto_error,
        )

    async def __call__(self, request: HTTPConnection) -> str | None:
        """Return the Bearer token. Not a checkpoint.

        Raises:
            HTTPException: 401 when there is no Bearer token and ``auto_error`` is on.
        """
        return self._read_bearer_token(request)
