"""``CORSMiddleware``: Cross-Origin Resource Sharing headers and preflight answers."""

from __future__ import annotations

import re
from collections.abc import Sequence

from trioapi.datastructures import Headers, MutableHeaders
from trioapi.responses import PlainTextResponse
from trioapi.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ALL_METHODS", "SAFELISTED_HEADERS", "CORSMiddleware"]

ALL_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "QUERY")
# Request headers a browser may always send cross-origin without asking.
SAFELISTED_HEADERS = {"Accept", "Accept-Language", "Content-Language", "Content-Type"}
# A preflight answer depends on all of these request headers, so a cache must
# key on every one of them, whatever this middleware allows.
PREFLIGHT_VARY = (
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers, "
    "Access-Control-Request-Private-Network"
)


class CORSMiddleware:
    """Answer CORS preflight requests and add CORS headers to other responses.

    An ``OPTIONS`` request with ``Origin`` and ``Access-Control-Request-Method``
    is a preflight and is answered here: 200 ``OK``, or 400 ``Disallowed CORS
    ...`` naming what was refused, with ``Vary`` naming every request header
    the answer depends on. Any other request goes to the app; a cross-origin
    one gets the CORS headers on its response, and every response gets
    ``Origin`` added to its ``Vary`` (the answer differs by origin, so a cache
    must not serve one origin's response to another).

    Args:
        app: the ASGI app to wrap.
        allow_origins: origins allowed, or ``["*"]`` for any.
        allow_methods: methods allowed in preflights, or ``["*"]`` for all.
        allow_headers: request headers allowed, or ``["*"]`` for any.
        allow_credentials: allow cookies and authorization; the origin is
            then echoed back instead of ``*``.
        allow_origin_regex: origins allowed when the regex matches the whole origin.
        allow_private_network: answer Private Network Access preflights.
        expose_headers: response headers the browser may show to scripts.
        max_age: seconds a browser may cache a preflight answer.
    """

    def __init__(
        self,
        app: ASGIApp,
        allow_origins: Sequence[str] = (),
        allow_methods: Sequence[str] = ("GET",),
        allow_headers: Sequence[str] = (),
        allow_credentials: bool = False,
        allow_origin_regex: str | None = None,
        allow_private_network: bool = False,
        expose_headers: Sequence[str] = (),
        max_age: int = 600,
    ) -> None:
        if "*" in allow_methods:
            allow_methods = ALL_METHODS
        self.app = app
        self.allow_origins = allow_origins
        self.allow_methods = allow_methods
        self.allow_credentials = allow_credentials
        self.allow_all_origins = "*" in allow_origins
        self.allow_all_headers = "*" in allow_headers
        self.allow_origin_regex = re.compile(allow_origin_regex) if allow_origin_regex else None
        self.allow_private_network = allow_private_network
        # With credentials a browser rejects "*", so the origin must be echoed.
        self.preflight_explicit_allow_origin = not self.allow_all_origins or allow_credentials
        header_names = sorted(SAFELISTED_HEADERS | set(allow_headers))
        self.allow_headers = [name.lower() for name in header_names]
        self.simple_headers = _build_simple_headers(
            self.allow_all_origins, allow_credentials, expose_headers
        )
        self.preflight_headers = self._build_preflight_headers(
            header_names, allow_credentials, max_age
        )

    def _build_preflight_headers(
        self, header_names: list[str], allow_credentials: bool, max_age: int
    ) -> dict[str, str]:
        headers = {"Vary": PREFLIGHT_VARY}
        if not self.preflight_explicit_allow_origin:
            # Otherwise the allowed origin itself is added per request.
            headers["Access-Control-Allow-Origin"] = "*"
        headers["Access-Control-Allow-Methods"] = ", ".join(self.allow_methods)
        headers["Access-Control-Max-Age"] = str(max_age)
        if not self.allow_all_headers:
            headers["Access-Control-Allow-Headers"] = ", ".join(header_names)
        if allow_credentials:
            headers["Access-Control-Allow-Credentials"] = "true"
        return headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a preflight here, or run the app and add CORS headers to its response."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_headers = Headers(scope=scope)
        if (
            scope["method"] == "OPTIONS"
            and "origin" in request_headers
            and "access-control-request-method" in request_headers
        ):
            response = self.preflight_response(request_headers=request_headers)
            await response(scope, receive, send)
            return
        await self.simple_response(scope, receive, send, request_headers=request_headers)

    def is_allowed_origin(self, origin: str) -> bool:
        """Whether ``origin`` is allowed (listed, matched by the regex, or any is allowed)."""
        if self.allow_all_origins:
            return True
        if self.allow_origin_regex is not None and self.allow_origin_regex.fullmatch(origin):
            return True
        return origin in self.allow_origins

    def preflight_response(self, request_headers: Headers) -> PlainTextResponse:
        """The answer to a preflight: 200 ``OK`` or 400 ``Disallowed CORS <what>``."""
        origin = request_headers["origin"]
        requested_headers = request_headers.get("access-control-request-headers")
        headers = dict(self.preflight_headers)
        failures: list[str] = []
        if not self.is_allowed_origin(origin):
            failures.append("origin")
        elif self.preflight_explicit_allow_origin:
            headers["Access-Control-Allow-Origin"] = origin
        if request_headers["access-control-request-method"] not in self.allow_methods:
            failures.append("method")
        if self.allow_all_headers and requested_headers is not None:
            headers["Access-Control-Allow-Headers"] = requested_headers
        elif requested_headers is not None and not self._are_allowed_headers(requested_headers):
            failures.append("headers")
        if request_headers.get("access-control-request-private-network") is not None:
            if self.allow_private_network:
                headers["Access-Control-Allow-Private-Network"] = "true"
            else:
                failures.append("private-network")
        if failures:
            return PlainTextResponse(
                "Disallowed CORS " + ", ".join(failures), status_code=400, headers=headers
            )
        return PlainTextResponse("OK", status_code=200, headers=headers)

    def _are_allowed_headers(self, requested_headers: str) -> bool:
        requested = (name.strip().lower() for name in requested_headers.split(","))
        return all(name in self.allow_headers for name in requested)

    async def simple_response(
        self, scope: Scope, receive: Receive, send: Send, request_headers: Headers
    ) -> None:
        """Run the app, adding the CORS headers and ``Vary: Origin`` to its response."""
        origin = request_headers.get("origin")
        # With credentials a browser rejects "*", so the origin is echoed; a
        # listed (or regex-matched) origin is echoed as the only one allowed.
        echo_origin = None
        if origin is not None and (
            (self.allow_all_origins and self.allow_credentials)
            or (not self.allow_all_origins and self.is_allowed_origin(origin))
        ):
            echo_origin = origin

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                headers = MutableHeaders(scope=message)
                if origin is not None:
                    headers.update(self.simple_headers)
                if echo_origin is not None:
                    headers["Access-Control-Allow-Origin"] = echo_origin
                headers.add_vary_header("Origin")
            await send(message)

        await self.app(scope, receive, send_with_cors)


def _build_simple_headers(
    allow_all_origins: bool, allow_credentials: bool, expose_headers: Sequence[str]
) -> dict[str, str]:
    headers: dict[str, str] = {}
    if allow_all_origins:
        headers["Access-Control-Allow-Origin"] = "*"
    if allow_credentials:
        headers["Access-Control-Allow-Credentials"] = "true"
    if expose_headers:
        headers["Access-Control-Expose-Headers"] = ", ".join(expose_headers)
    return headers
