"""ProxyHeadersMiddleware: X-Forwarded-* believed from trusted proxies only."""

from __future__ import annotations

import pytest

from tests.serving import run_hypercorn
from tests.trio_support import http_scope
from trioapi import Request, TrioAPI
from trioapi.exceptions import TrioAPIError
from trioapi.middleware.proxy_headers import ProxyHeadersMiddleware

FORWARDED = {
    "x-forwarded-proto": "https",
    "x-forwarded-for": "203.0.113.7, 10.0.0.2",
    "x-forwarded-host": "api.example.com",
}


def echo_app() -> TrioAPI:
    app = TrioAPI()

    @app.get("/where")
    async def where(request: Request):
        return {"url": str(request.url), "client": request.client.host}

    return app


async def seen_by_app(trusted, peer: str, headers: dict[str, str]) -> dict[str, str]:
    """What the app sees of a request from ``peer`` with ``headers``, behind the middleware."""
    seen: dict[str, str] = {}

    async def app(scope, receive, send):
        request = Request(scope)
        seen.update(url=str(request.url), client=request.client.host)

    scope = http_scope("/where", headers=[(k.encode(), v.encode()) for k, v in headers.items()])
    scope["client"] = (peer, 5000)
    await ProxyHeadersMiddleware(app, trusted)(scope, None, None)
    return seen


async def test_a_trusted_proxy_sets_scheme_client_and_host():
    seen = await seen_by_app("127.0.0.1, 10.0.0.0/8", "127.0.0.1", FORWARDED)
    # 10.0.0.2 is a trusted proxy too, so the client is the address before it.
    assert seen == {"url": "https://api.example.com/where", "client": "203.0.113.7"}


async def test_an_untrusted_peer_cannot_forge_the_headers():
    seen = await seen_by_app("10.0.0.1", "198.51.100.9", FORWARDED)
    assert seen == {"url": "http://testserver/where", "client": "198.51.100.9"}


async def test_the_client_is_the_first_untrusted_hop_from_the_right():
    headers = {"x-forwarded-for": "1.1.1.1, 6.6.6.6"}  # 1.1.1.1 was sent by the client itself
    assert (await seen_by_app("127.0.0.1", "127.0.0.1", headers))["client"] == "6.6.6.6"
    every = await seen_by_app("*", "198.51.100.9", {"x-forwarded-for": "5.5.5.5"})
    assert every["client"] == "5.5.5.5"


async def test_a_websocket_behind_https_is_wss():
    scope = {
        "type": "websocket",
        "headers": [(b"x-forwarded-proto", b"https")],
        "client": ("127.0.0.1", 1),
    }

    async def app(scope, receive, send):
        pass

    await ProxyHeadersMiddleware(app)(scope, None, None)
    assert scope["scheme"] == "wss"


def test_a_bad_trusted_entry_is_refused_with_the_fix():
    with pytest.raises(TrioAPIError, match=r"trusted host 'proxy\.local' is not an IP address"):
        ProxyHeadersMiddleware(echo_app(), ["proxy.local"])


async def test_through_hypercorn_the_peer_address_is_checked():
    import httpx

    async with run_hypercorn(ProxyHeadersMiddleware(echo_app(), "127.0.0.1")) as base:
        async with httpx.AsyncClient(base_url=base) as client:
            response = await client.get("/where", headers=FORWARDED)
    assert response.json() == {"url": "https://api.example.com/where", "client": "10.0.0.2"}
