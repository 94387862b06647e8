"""``AuthenticationMiddleware``: ask a backend who is calling, before the app runs."""

from __future__ import annotations

from collections.abc import Callable

from trioapi.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    AuthenticationError,
    UnauthenticatedUser,
)
from trioapi.requests import HTTPConnection
from trioapi.responses import PlainTextResponse, Response
from trioapi.types import ASGIApp, Receive, Scope, Send

__all__ = ["AuthenticationMiddleware"]


class AuthenticationMiddleware:
    """Set ``scope["auth"]`` and ``scope["user"]`` (``request.auth``/``request.user``) from a backend.

    A backend that returns None leaves the caller anonymous (no scopes, an
    :class:`~trioapi.authentication.UnauthenticatedUser`). One that raises
    ``AuthenticationError`` stops the request: HTTP gets ``on_error``'s
    response (by default a plain-text 400 with the error's message), a
    WebSocket is closed with code 1000.

    Args:
        app: the ASGI app to wrap.
        backend: decides who is calling.
        on_error: builds the response for an ``AuthenticationError``.
    """

    def __init__(
        self,
        app: ASGIApp,
        backend: AuthenticationBackend,
        on_error: Callable[[HTTPConnection, AuthenticationError], Response] | None = None,
    ) -> None:
        self.app = app
        self.backend = backend
        self.on_error: Callable[[HTTPConnection, AuthenticationError], Response] = (
            on_error if on_error is not None else self.default_on_error
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Authenticate the connection, then run the app (or answer the error)."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        try:
            result = await self.backend.authenticate(conn)
        except AuthenticationError as exc:
            response = self.on_error(conn, exc)
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1000})
            else:
                await response(scope, receive, send)
            return
        if result is None:
            result = AuthCredentials(), UnauthenticatedUser()
        scope["auth"], scope["user"] = result
        await self.app(scope, receive, send)

    @staticmethod
    def default_on_error(conn: HTTPConnection, exc: Exception) -> Response:
        """A plain-text 400 carrying the error's message."""
        return PlainTextResponse(str(exc), status_code=400)
