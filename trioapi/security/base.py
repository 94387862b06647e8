"""What every security scheme has: its OpenAPI model and the name it is listed under."""

from trioapi.exceptions import HTTPException
from trioapi.openapi.models import SecurityBase as SecurityBaseModel

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
