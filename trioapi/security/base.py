"""What every security scheme has: its OpenAPI model and the name it is listed under."""

from trioapi.exceptions import HTTPException
from trioapi.openapi.models import SecurityBase as SecurityBaseModel
from trioapi.requests import HTTPConnection

NOT_AUTHENTICATED = "Not authenticated"
"""The ``detail`` of every failure a security scheme answers with."""


class SecurityBase:
    """Base class of the security schemes.

    The dependency layer recognises an instance by this base class: it adds
    ``model`` to ``components.securitySchemes`` under ``scheme_name``, and the
    operation's ``security`` requirement names it.

    Attributes:
        model: The scheme as an OpenAPI security scheme object.
        scheme_name: The key of the scheme in the OpenAPI document; the class
            name unless the constructor was given one.
    """

    model: SecurityBaseModel
    scheme_name: str


def build_not_authenticated_error(challenge: str) -> HTTPException:
    """Build the 401 a scheme answers with when it finds no usable credentials.

    Args:
        challenge: The ``WWW-Authenticate`` value telling the client how to
            authenticate (RFC 9110 requires one on every 401).

    Returns:
        The exception, not raised: callers raise it, or hand it to code that
        overrides ``make_not_authenticated_error``.
    """
    return HTTPException(
        status_code=401, detail=NOT_AUTHENTICATED, headers={"WWW-Authenticate": challenge}
    )


class AuthorizationHeaderScheme(SecurityBase):
    """A scheme whose credentials come in ``Authorization`` and whose challenge is ``Bearer``.

    What OAuth2 and OpenID Connect share: as a dependency it resolves to the
    raw header value, unverified; a missing header is a 401 (``auto_error``)
    or ``None``.
    """

    auto_error: bool

    def make_not_authenticated_error(self) -> HTTPException:
        """Build the error for missing credentials: 401 with ``WWW-Authenticate: Bearer``.

        Override it to answer differently (FastAPI answered 403 before 0.122).
        """
        return build_not_authenticated_error("Bearer")

    def _reject(self) -> None:
        """Raise the not-authenticated error when ``auto_error`` is on, else return."""
        if self.auto_error:
            raise self.make_not_authenticated_error()

    async def __call__(self, request: HTTPConnection) -> str | None:
        """Return the raw ``Authorization`` header. Not a checkpoint.

        Raises:
            HTTPException: 401 when the header is missing and ``auto_error`` is on.
        """
        authorization = request.headers.get("Authorization")
        if authorization:
            return authorization
        self._reject()
        return None
