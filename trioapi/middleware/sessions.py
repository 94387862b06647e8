"""``SessionMiddleware``: a JSON session kept client-side in a signed cookie."""

from __future__ import annotations

import json
from base64 import b64decode, b64encode
from typing import Any, Literal

from trioapi.datastructures import MutableHeaders
from trioapi.requests import HTTPConnection
from trioapi.types import ASGIApp, Message, Receive, Scope, Send

try:
    import itsdangerous
    from itsdangerous.exc import BadSignature
except ModuleNotFoundError as exc:
    raise ModuleNotFoundError(
        "SessionMiddleware signs its cookie with itsdangerous, which is not installed. "
        "Install it with `pip install itsdangerous` (or `pip install 'trioapi[sessions]'`).",
        name=exc.name,
    ) from exc

__all__ = ["SessionMiddleware"]

_EXPIRED = "expires=Thu, 01 Jan 1970 00:00:00 GMT; "


class SessionMiddleware:
    """Give each request ``scope["session"]`` (``request.session``), a dict kept in a cookie.

    The session is serialized as JSON, base64-encoded and signed with a
    timestamp, so the client can read but not forge it, and a cookie older
    than ``max_age`` is ignored. A cookie with a bad signature gives an empty
    session. A non-empty session is written back on every response (which
    also renews its age); a session the app emptied clears the cookie.

    Args:
        app: the ASGI app to wrap.
        secret_key: the signing key; keep it secret and stable across restarts.
        session_cookie: the cookie's name.
        max_age: seconds a session lasts; ``None`` makes it last as long as the
            browser session.
        path: the cookie's path.
        same_site: the cookie's ``SameSite`` attribute.
        https_only: mark the cookie ``Secure``.
        domain: the cookie's ``Domain`` attribute, to share it with subdomains.
    """

    def __init__(
        self,
        app: ASGIApp,
        secret_key: str | Any,
        session_cookie: str = "session",
        max_age: int | None = 14 * 24 * 60 * 60,
        path: str = "/",
        same_site: Literal["lax", "strict", "none"] = "lax",
        https_only: bool = False,
        domain: str | None = None,
    ) -> None:
        self.app = app
        self.signer = itsdangerous.TimestampSigner(str(secret_key))
        self.session_cookie = session_cookie
        self.max_age = max_age
        self.path = path
        self.security_flags = "httponly; samesite=" + same_site
        if https_only:
            self.security_flags += "; secure"
        if domain is not None:
            self.security_flags += f"; domain={domain}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Load the session into the scope, run the app, and write the cookie on its response."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        session = self._load(HTTPConnection(scope).cookies.get(self.session_cookie))
        had_session = bool(session)
        scope["session"] = session

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                cookie = self._cookie_for(scope["session"], had_session)
                if cookie is not None:
                    message.setdefault("headers", [])
                    MutableHeaders(scope=message).append("Set-Cookie", cookie)
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _load(self, cookie: str | None) -> dict[str, Any]:
        """The session stored in ``cookie``; empty if absent, forged, expired or unreadable."""
        if cookie is None:
            return {}
        try:
            data = self.signer.unsign(cookie.encode("utf-8"), max_age=self.max_age)
            session = json.loads(b64decode(data))
        except (BadSignature, ValueError):
            # Forged, expired or not ours: start a fresh session, as if no cookie came.
            return {}
        return session if isinstance(session, dict) else {}

    def _cookie_for(self, session: dict[str, Any], had_session: bool) -> str | None:
        """The ``Set-Cookie`` value to send, or None when there is nothing to store or clear."""
        if session:
            data = self.signer.sign(b64encode(json.dumps(session).encode("utf-8")))
            max_age = f"Max-Age={self.max_age}; " if self.max_age else ""
            return (
                f"{self.session_cookie}={data.decode('utf-8')}; path={self.path}; "
                f"{max_age}{self.security_flags}"
            )
        if had_session:
            return f"{self.session_cookie}=null; path={self.path}; {_EXPIRED}{self.security_flags}"
        return None
