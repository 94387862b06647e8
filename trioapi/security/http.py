"""HTTP authentication schemes read from the ``Authorization`` header (RFC 9110)."""

import binascii
from base64 import b64decode

from pydantic import BaseModel

from trioapi.exceptions import HTTPException
from trioapi.openapi.models import HTTPBase as HTTPBaseModel
from trioapi.openapi.models import HTTPBearer as HTTPBearerModel
from trioapi.requests import HTTPConnection
from trioapi.security.base import SecurityBase, build_not_authenticated_error
from trioapi.security.utils import get_authorization_scheme_param

__all__ = [
    "HTTPAuthorizationCredentials",
    "HTTPBase",
    "HTTPBasic",
    "HTTPBasicCredentials",
    "HTTPBearer",
    "HTTPDigest",
]


class HTTPBasicCredentials(BaseModel):
    """What ``HTTPBasic`` resolves to: the decoded user name and password."""

    username: str
    password: str


class HTTPAuthorizationCredentials(BaseModel):
    """What ``HTTPBearer``, ``HTTPDigest`` and ``HTTPBase`` resolve to.

    ``Authorization: Bearer abc`` gives ``scheme="Bearer"`` (as sent) and
    ``credentials="abc"``.
    """

    scheme: str
    credentials: str


def _authorization_credentials(scheme: str, credentials: str) -> HTTPAuthorizationCredentials:
    # What HTTPAuthorizationCredentials(scheme=..., credentials=...) builds,
    # through the model's validator without BaseModel.__init__'s frame.
    validator = HTTPAuthorizationCredentials.__pydantic_validator__
    made: HTTPAuthorizationCredentials = validator.validate_python(
        {"scheme": scheme, "credentials": credentials}
    )
    return made


class HTTPBase(SecurityBase):
    """Any HTTP authentication scheme; the base of the specific ones.

    Use an instance as a dependency; it resolves to the header's scheme and
    credentials, whatever the scheme is.

    Args:
        scheme: The scheme's name in the OpenAPI document (``"basic"``...).
        scheme_name: The scheme's key in the OpenAPI document (default: the class name).
        description: The scheme's description in the OpenAPI document.
        auto_error: Answer 401 when credentials are missing; with ``False`` the
            dependency resolves to ``None`` instead.
    """

    model: HTTPBaseModel

    def __init__(
        self,
        *,
        scheme: str,
        scheme_name: str | None = None,
        description: str | None = None,
        auto_error: bool = True,
    ) -> None:
        self.model = HTTPBaseModel(scheme=scheme, description=description)
        self.scheme_name = scheme_name or type(self).__name__
        self.auto_error = auto_error

    def make_authenticate_headers(self) -> dict[str, str]:
        """The headers of a 401: the scheme's name as the ``WWW-Authenticate`` challenge."""
        return {"WWW-Authenticate": self.model.scheme.title()}

    def make_not_authenticated_error(self) -> HTTPException:
        """Build the error for missing or unusable credentials: a 401 with a challenge.

        Override it to answer differently (FastAPI answered 403 before 0.122).
        """
        return build_not_authenticated_error(self.make_authenticate_headers()["WWW-Authenticate"])

    def _reject(self) -> None:
        """Raise the not-authenticated error when ``auto_error`` is on, else return."""
        if self.auto_error:
            raise self.make_not_authenticated_error()

    async def __call__(self, request: HTTPConnection) -> HTTPAuthorizationCredentials | None:
        """Read any ``Authorization: <scheme> <credentials>`` header. Not a checkpoint.

        Raises:
            HTTPException: 401 when the header or either part is missing and
                ``auto_error`` is on.
        """
        return self._read_credentials(request, expected_scheme=None)

    def _read_credentials(
        self, request: HTTPConnection, expected_scheme: str | None
    ) -> HTTPAuthorizationCredentials | None:
        """Parse the header, requiring ``expected_scheme`` (any case) if given."""
        scheme, credentials = get_authorization_scheme_param(request.headers.get("Authorization"))
        if not (scheme and credentials):
            self._reject()
            return None
        if expected_scheme is not None and scheme.lower() != expected_scheme:
            self._reject()
            return None
        return _authorization_credentials(scheme, credentials)


class HTTPBasic(HTTPBase):
    """HTTP Basic authentication (RFC 7617).

    Use an instance as a dependency; it resolves to ``HTTPBasicCredentials``.
    Every failure is a 401 with ``WWW-Authenticate: Basic`` (plus the realm, if
    set), so that browsers show their login prompt.

    Args:
        scheme_name: The scheme's key in the OpenAPI document (default: the class name).
        realm: The protection space named in the challenge.
        description: The scheme's description in the OpenAPI document.
        auto_error: Answer 401 when credentials are missing or not Basic; with
            ``False`` the dependency resolves to ``None`` instead. Credentials
            that are Basic but cannot be decoded are a 401 either way.
    """

    def __init__(
        self,
        *,
        scheme_name: str | None = None,
        realm: str | None = None,
        description: str | None = None,
        auto_error: bool = True,
    ) -> None:
        super().__init__(
            scheme="basic", scheme_name=scheme_name, description=description, auto_error=auto_error
        )
        self.realm = realm

    def make_authenticate_headers(self) -> dict[str, str]:
        """The headers of a 401: a ``Basic`` challenge with the realm, if any."""
        if self.realm:
            return {"WWW-Authenticate": f'Basic realm="{self.realm}"'}
        return {"WWW-Authenticate": "Basic"}

    # The override ignore: FastAPI's HTTPBasic is an HTTPBase but resolves to a
    # user name and password, not to raw authorization credentials.
    async def __call__(  # type: ignore[override]
        self, request: HTTPConnection
    ) -> HTTPBasicCredentials | None:
        """Read and decode ``Authorization: Basic <base64>``. Not a checkpoint.

        Raises:
            HTTPException: 401 when the header is missing or not Basic and
                ``auto_error`` is on, and always when the Basic credentials
                are not base64 of ASCII ``user:password``.
        """
        authorization = request.headers.get("Authorization")
        scheme, param = get_authorization_scheme_param(authorization)
        if not authorization or scheme.lower() != "basic":
            self._reject()
            return None
        try:
            decoded = b64decode(param).decode("ascii")
        except (ValueError, UnicodeDecodeError, binascii.Error) as exc:
            raise self.make_not_authenticated_error() from exc
        username, separator, password = decoded.partition(":")
        if not separator:
            raise self.make_not_authenticated_error()
        return HTTPBasicCredentials(username=username, password=password)


class HTTPBearer(HTTPBase):
    """HTTP Bearer token authentication (RFC 6750).

    Use an instance as a dependency; it resolves to
    ``HTTPAuthorizationCredentials`` holding the token in ``credentials``.

    Args:
        bearerFormat: A hint of the token's format (``"JWT"``), for the docs.
        scheme_name: The scheme's key in the OpenAPI document (default: the class name).
        description: The scheme's description in the OpenAPI document.
        auto_error: Answer 401 (``WWW-Authenticate: Bearer``) when there is no
            Bearer token; with ``False`` the dependency resolves to ``None``.
    """

    model: HTTPBearerModel

    def __init__(
        self,
        *,
        bearerFormat: str | None = None,
        scheme_name: str | None = None,
        description: str | None = None,
        auto_error: bool = True,
    ) -> None:
        self.model = HTTPBearerModel(bearerFormat=bearerFormat, description=description)
        self.scheme_name = scheme_name or type(self).__name__
        self.auto_error = auto_error

    async def __call__(self, request: HTTPConnection) -> HTTPAuthorizationCredentials | None:
        """Read ``Authorization: Bearer <token>`` (scheme in any case). Not a checkpoint.

        Raises:
            HTTPException: 401 when there is no Bearer token and ``auto_error`` is on.
        """
        return self._read_credentials(request, expected_scheme="bearer")


class HTTPDigest(HTTPBase):
    """HTTP Digest authentication (RFC 7616), as a stub.

    It only checks that a Digest header is present and hands over its
    parameters unverified: subclass it to implement the scheme.

    Args:
        scheme_name: The scheme's key in the OpenAPI document (default: the class name).
        description: The scheme's description in the OpenAPI document.
        auto_error: Answer 401 (``WWW-Authenticate: Digest``) when there are no
            Digest credentials; with ``False`` the dependency resolves to ``None``.
    """

    def __init__(
        self,
        *,
        scheme_name: str | None = None,
        description: str | None = None,
        auto_error: bool = True,
    ) -> None:
        super().__init__(
            scheme="digest", scheme_name=scheme_name, description=description, auto_error=auto_error
        )

    async def __call__(self, request: HTTPConnection) -> HTTPAuthorizationCredentials | None:
        """Read ``Authorization: Digest <params>`` (scheme in any case). Not a checkpoint.

        Raises:
            HTTPException: 401 when there are no Digest credentials and
                ``auto_error`` is on.
        """
        return self._read_credentials(request, expected_scheme="digest")
