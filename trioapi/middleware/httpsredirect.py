"""``HTTPSRedirectMiddleware``: send every plain-text request to its secure URL."""

from __future__ import annotations

from trioapi.datastructures import URL
from trioapi.responses import PlainTextResponse, RedirectResponse
from trioapi.types import ASGIApp, Receive, Scope, Send

__all__ = ["HTTPSRedirectMiddleware"]

_SECURE_SCHEMES = {"http": "https", "ws": "wss"}


class HTTPSRedirectMiddleware:
    """Redirect ``http``/``ws`` requests to ``https``/``wss`` with a 307.

    307 keeps the method and body, so a POST is repeated as a POST. Ports 80
    and 443 are dropped from the new URL; any other port is kept. The host
    is the request's ``Host`` header if it is a valid one (see
    :class:`~trioapi.datastructures.URL`), else the server's address.

    Args:
        app: the ASGI app to wrap.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Redirect an insecure request; run the app for a secure one."""
        if scope["type"] not in ("http", "websocket") or scope["scheme"] not in _SECURE_SCHEMES:
            await self.app(scope, receive, send)
            return
        url = URL(scope=scope)
        if not url.netloc:
            # No valid Host and no server address: nowhere to redirect to.
            await PlainTextResponse("Invalid host header", status_code=400)(scope, receive, send)
            return
        secure_url = url.replace(scheme=_SECURE_SCHEMES[url.scheme])
        if url.port in (80, 443):
            # Through replace(): it keeps an IPv6 host's brackets.
            secure_url = secure_url.replace(port=None)
        response = RedirectResponse(str(secure_url), status_code=307)
        await response(scope, receive, send)
