"""``TrustedHostMiddleware``: refuse requests whose ``Host`` header is not one of ours."""

from __future__ import annotations

from collections.abc import Sequence

from trioapi._host import host_header
from trioapi.datastructures import URL
from trioapi.exceptions import TrioAPIError
from trioapi.responses import PlainTextResponse, RedirectResponse, Response
from trioapi.types import ASGIApp, Receive, Scope, Send

__all__ = ["ENFORCE_DOMAIN_WILDCARD", "TrustedHostMiddleware"]

ENFORCE_DOMAIN_WILDCARD = "Domain wildcard patterns must be like '*.example.com'."


class TrustedHostMiddleware:
    """Answer 400 ``Invalid host header`` unless the ``Host`` header is allowed.

    This guards against Host-header attacks (poisoned password-reset links,
    cache poisoning). Host names compare case-insensitively and without the
    port; a ``Host`` value that is not a host and optional port (userinfo, a
    path, a bad port) is never allowed. With ``www_redirect``, a request for
    ``example.com`` when only ``www.example.com`` is allowed is redirected there.

    Args:
        app: the ASGI app to wrap.
        allowed_hosts: host names, IP addresses (IPv6 with or without
            brackets), ``"*.example.com"`` wildcards (any subdomain), or
            ``"*"`` for any host (the default).
        www_redirect: redirect a bare domain to its allowed ``www.`` form.

    Raises:
        TrioAPIError: a pattern has ``*`` anywhere but a leading ``*.``.
    """

    def __init__(
        self,
        app: ASGIApp,
        allowed_hosts: Sequence[str] | None = None,
        www_redirect: bool = True,
    ) -> None:
        if allowed_hosts is None:
            allowed_hosts = ["*"]
        for pattern in allowed_hosts:
            _check_pattern(pattern)
        self.app = app
        self.allowed_hosts = list(allowed_hosts)
        self.allow_any = "*" in self.allowed_hosts
        self.www_redirect = www_redirect
        # Compared as parse_host() gives host names: lower case, no brackets.
        self._patterns = [pattern.lower().strip("[]") for pattern in self.allowed_hosts]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app if the host is allowed, else redirect to ``www.`` or answer 400."""
        if self.allow_any or scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        parsed = host_header(scope.get("headers", ()))
        host = "" if parsed is None else parsed.hostname
        found_www_redirect = False
        for pattern in self._patterns:
            if host == pattern or (host and pattern.startswith("*") and host.endswith(pattern[1:])):
                await self.app(scope, receive, send)
                return
            if "www." + host == pattern:
                found_www_redirect = True
        response: Response
        if found_www_redirect and self.www_redirect:
            url = URL(scope=scope)
            response = RedirectResponse(url=str(url.replace(netloc="www." + url.netloc)))
        else:
            response = PlainTextResponse("Invalid host header", status_code=400)
        await response(scope, receive, send)


def _check_pattern(pattern: str) -> None:
    if pattern == "*":
        return
    if "*" in pattern[1:] or (pattern.startswith("*") and not pattern.startswith("*.")):
        raise TrioAPIError(
            f"TrustedHostMiddleware: allowed host {pattern!r} has a '*' that is not a "
            f"leading '*.' wildcard. {ENFORCE_DOMAIN_WILDCARD}"
        )
