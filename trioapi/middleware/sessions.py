"""``SessionMiddleware``: a JSON session kept client-side in a signed cookie."""

from __future__ import annotations

import json
from base64 import b64decode, b64encode
from typing import Any, Literal, Self

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

__all__ = ["Session", "SessionMiddleware"]

_EXPIRED = "expires=Thu, 01 Jan 1970 00:00:00 GMT; "


class Session(dict[str, Any]):
    """The session dict, noting whether the app read it and whether it changed it.

    ``request.session`` marks it accessed (the response then gets
    ``Vary: Cookie``); every method that changes it marks it modified (the
    cookie is then written again). Changing a value held inside it (a nested
    list or dict) is not seen: assign the key again, or call
    :meth:`mark_modified`.
    """

    accessed: bool = False
    modified: bool = False

    def mark_accessed(self) -> None:
        """Note that the app read the session, so the response depends on the cookie."""
        self.accessed = True

    def mark_modified(self) -> None:
        """Note that the session changed and must be written back (implies accessed)."""
        self.accessed = True
        self.modified = True

    def __setitem__(self, key: str, value: Any) -> None:
        """Set ``key`` and mark the session modified."""
        self.mark_modified()
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        """Delete ``key`` and mark the session modified."""
        self.mark_modified()
        super().__delitem__(key)

    def __ior__(self, other: Any, /) -> Self:  # type: ignore[override,misc]  # dict's own signature is narrower
        """``session |= other``: update and mark the session modified."""
        self.mark_modified()
        return super().__ior__(other)

    def clear(self) -> None:
        """Empty the session and mark it modified."""
        self.mark_modified()
        super().clear()

    def pop(self, key: str, *default: Any) -> Any:
        """Remove and return ``key``; marks the session modified only if the key was there."""
        if key in self:
            self.mark_modified()
        return super().pop(key, *default)

    def popitem(self) -> tuple[str, Any]:
        """Remove and return the last pair, marking the session modified."""
        item = super().popitem()
        self.mark_modified()
        return item

    def setdefault(self, key: str, default: Any = None) -> Any:
        """Return ``key``'s value, setting it first (and marking modified) when missing."""
        if key not in self:
            self.mark_modified()
        return super().setdefault(key, default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        """Update from a mapping or pairs, marking the session modified."""
        self.mark_modified()
        super().update(*args, **kwargs)


class SessionMiddleware:
    """Give each request ``scope["session"]`` (``request.session``), a dict kept in a cookie.

    The session is serialized as JSON, base64-encoded and signed with a
    timestamp, so the client can read but not forge it, and a cookie older
    than ``max_age`` is ignored. A cookie with a bad signature gives an empty
    session. The cookie is written only when the app changed the session
    (which also renews its age); a session the app emptied clears the
    cookie. A response that read the session gets ``Vary: Cookie``.

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
        partitioned: mark the cookie ``Partitioned`` (CHIPS: kept per top-level site).
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
        partitioned: bool = False,
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
        if partitioned:
            self.security_flags += "; partitioned"

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
                current = scope["session"]
                message.setdefault("headers", [])
                headers = MutableHeaders(scope=message)
                if getattr(current, "accessed", True):
                    headers.add_vary_header("Cookie")
                cookie = self._cookie_for(current, had_session)
                if cookie is not None:
                    headers.append("Set-Cookie", cookie)
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _load(self, cookie: str | None) -> Session:
        """The session stored in ``cookie``; empty if absent, forged, expired or unreadable."""
        if cookie is None:
            return Session()
        try:
            data = self.signer.unsign(cookie.encode("utf-8"), max_age=self.max_age)
            session = json.loads(b64decode(data))
        except (BadSignature, ValueError):
            # Forged, expired or not ours: start a fresh session, as if no cookie came.
            return Session()
        return Session(session) if isinstance(session, dict) else Session()

    def _cookie_for(self, session: dict[str, Any], had_session: bool) -> str | None:
        """The ``Set-Cookie`` value to send, or None when nothing changed.

        A plain dict the app put in ``scope["session"]`` itself cannot say
        whether it changed, so it is always written.
        """
        if not getattr(session, "modified", True):
            return None
        if session:
            data = self.signer.sign(b64encode(json.dumps(session).encode("utf-8")))
            max_age = f"Max-Age={self.max_age}; " if self.max_age is not None else ""
            return (
                f"{self.session_cookie}={data.decode('utf-8')}; path={self.path}; "
                f"{max_age}{self.security_flags}"
            )
        if had_session:
            return f"{self.session_cookie}=null; path={self.path}; {_EXPIRED}{self.security_flags}"
        return None
