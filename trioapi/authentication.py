"""Who is calling: users, credentials, backends, and the ``@requires`` guard.

``AuthenticationMiddleware`` (``trioapi.middleware.authentication``) asks an
:class:`AuthenticationBackend` about each connection and stores what it says
as ``request.auth`` (an :class:`AuthCredentials`, whose ``scopes`` are plain
strings) and ``request.user`` (a :class:`BaseUser`). ``@requires(...)`` then
guards an endpoint on those scopes.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any, ParamSpec
from urllib.parse import urlencode

from trioapi.concurrency import is_async_callable
from trioapi.exceptions import HTTPException, TrioAPIError
from trioapi.requests import HTTPConnection, Request
from trioapi.responses import RedirectResponse
from trioapi.websockets import WebSocket

__all__ = [
    "AuthCredentials",
    "AuthenticationBackend",
    "AuthenticationError",
    "BaseUser",
    "SimpleUser",
    "UnauthenticatedUser",
    "has_required_scope",
    "requires",
]

_P = ParamSpec("_P")


class RequiresArgumentError(TrioAPIError):
    """``@requires`` was put on a function with no ``request`` or ``websocket`` parameter."""


def has_required_scope(conn: HTTPConnection, scopes: Sequence[str]) -> bool:
    """Whether the connection's credentials hold every one of ``scopes``."""
    granted = conn.auth.scopes
    return all(scope in granted for scope in scopes)


def requires(
    scopes: str | Sequence[str],
    status_code: int = 403,
    redirect: str | None = None,
) -> Callable[[Callable[_P, Any]], Callable[_P, Any]]:
    """Guard an endpoint: without all ``scopes``, refuse the call.

    An HTTP endpoint then raises ``HTTPException(status_code)``, or, with
    ``redirect``, answers ``303`` to the route named ``redirect`` with
    ``?next=<the original URL>``. A WebSocket endpoint closes the socket.
    The endpoint needs a parameter named ``request`` or ``websocket``.

    Args:
        scopes: one scope or several, all required.
        status_code: the status of the refusal.
        redirect: the name of the route to send unauthorised callers to.

    Raises:
        RequiresArgumentError: the decorated function has no ``request`` or
            ``websocket`` parameter (raised at decoration).
    """
    required = [scopes] if isinstance(scopes, str) else list(scopes)

    def decorator(func: Callable[_P, Any]) -> Callable[_P, Any]:
        kind, index = _connection_parameter(func)

        def connection_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            conn = kwargs.get(kind, args[index] if index < len(args) else None)
            expected = WebSocket if kind == "websocket" else Request
            if not isinstance(conn, expected):
                raise TypeError(
                    f"Parameter with name '{kind}' is required to be of type "
                    f"'{expected.__name__}' not '{type(conn).__name__}'"
                )
            return conn

        def refusal(request: Request) -> RedirectResponse:
            if redirect is None:
                raise HTTPException(status_code=status_code)
            next_url = urlencode({"next": str(request.url)})
            return RedirectResponse(f"{request.url_for(redirect)}?{next_url}", status_code=303)

        if kind == "websocket":

            @functools.wraps(func)
            async def websocket_wrapper(*args: _P.args, **kwargs: _P.kwargs) -> None:
                websocket = connection_of(args, kwargs)
                if has_required_scope(websocket, required):
                    await func(*args, **kwargs)
                else:
                    await websocket.close()

            return websocket_wrapper

        if is_async_callable(func):

            @functools.wraps(func)
            async def async_wrapper(*args: _P.args, **kwargs: _P.kwargs) -> Any:
                request = connection_of(args, kwargs)
                if not has_required_scope(request, required):
                    return refusal(request)
                return await func(*args, **kwargs)

            return async_wrapper

        @functools.wraps(func)
        def sync_wrapper(*args: _P.args, **kwargs: _P.kwargs) -> Any:
            request = connection_of(args, kwargs)
            if not has_required_scope(request, required):
                return refusal(request)
            return func(*args, **kwargs)

        return sync_wrapper

    return decorator


def _connection_parameter(func: Callable[..., Any]) -> tuple[str, int]:
    """Which parameter of ``func`` holds the connection (``request``/``websocket``), and where."""
    for index, name in enumerate(inspect.signature(func).parameters):
        if name in ("request", "websocket"):
            return name, index
    raise RequiresArgumentError(
        f'No "request" or "websocket" argument on function "{func}": @requires reads the '
        "caller's credentials from it. Add a `request: Request` (or `websocket: WebSocket`) "
        "parameter."
    )


class AuthenticationError(Exception):
    """Raised by a backend for credentials that are present but wrong (answered 400)."""


class AuthenticationBackend:
    """Base class of the objects ``AuthenticationMiddleware`` asks who is calling."""

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        """Return the credentials and user of ``conn``, or None for an anonymous caller.

        Raises:
            AuthenticationError: the connection carries credentials that are not valid.
        """
        raise NotImplementedError


class AuthCredentials:
    """What the caller may do: a list of scope strings.

    Args:
        scopes: the granted scopes.
    """

    def __init__(self, scopes: Sequence[str] | None = None) -> None:
        self.scopes = [] if scopes is None else list(scopes)


class BaseUser:
    """Base class for users: subclasses say whether they are authenticated and who they are."""

    @property
    def is_authenticated(self) -> bool:
        """Whether this user proved who they are."""
        raise NotImplementedError

    @property
    def display_name(self) -> str:
        """A name to show."""
        raise NotImplementedError

    @property
    def identity(self) -> str:
        """A stable identifier."""
        raise NotImplementedError


class SimpleUser(BaseUser):
    """An authenticated user known only by a username.

    Args:
        username: the user's name, also their display name and identity.
    """

    def __init__(self, username: str) -> None:
        self.username = username

    @property
    def is_authenticated(self) -> bool:
        """Always true."""
        return True

    @property
    def display_name(self) -> str:
        """The username."""
        return self.username

    @property
    def identity(self) -> str:
        """The username."""
        return self.username


class UnauthenticatedUser(BaseUser):
    """The anonymous caller: not authenticated, empty name and identity."""

    @property
    def is_authenticated(self) -> bool:
        """Always false."""
        return False

    @property
    def display_name(self) -> str:
        """Empty."""
        return ""

    @property
    def identity(self) -> str:
        """Empty."""
        return ""
