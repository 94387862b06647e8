from __future__ import annotations

import pytest

from tests.middleware_support import call, make_scope
from trioapi.middleware.httpsredirect import HTTPSRedirectMiddleware
from trioapi.responses import PlainTextResponse
from trioapi.types import Receive, Scope, Send


async def homepage(scope: Scope, receive: Receive, send: Send) -> None:
    await PlainTextResponse("OK")(scope, receive, send)


app = HTTPSRedirectMiddleware(homepage)


async def test_https_request_reaches_the_app():
    sent = await call(app, scheme="https", server=("testserver", 443))

    assert (sent.status, sent.body) == (200, b"OK")


@pytest.mark.parametrize(
    ("host", "location"),
    [
        ("testserver", "https://testserver/items?page=2"),
        ("testserver:80", "https://testserver/items?page=2"),
        ("testserver:443", "https://testserver/items?page=2"),
        ("testserver:8080", "https://testserver:8080/items?page=2"),
    ],
)
async def test_http_request_is_redirected_with_307(host, location):
    sent = await call(
        app, method="POST", path="/items", query_string=b"page=2", headers=[("host", host)]
    )

    assert sent.status == 307
    assert sent.headers["location"] == location
    assert sent.body == b""


async def test_redirect_without_host_header_uses_the_server_address():
    sent = await call(app, path="/", server=("example.org", 8000))

    assert sent.headers["location"] == "https://example.org:8000/"


async def test_websocket_is_redirected_from_ws_to_wss():
    scope = make_scope(
        scope_type="websocket", scheme="ws", path="/feed", headers=[("host", "testserver")]
    )

    sent = await call(app, scope)

    assert sent.start["type"] == "websocket.http.response.start"
    assert sent.status == 307
    assert sent.headers["location"] == "wss://testserver/feed"


async def test_wss_websocket_reaches_the_app():
    seen: list[str] = []

    async def ws_app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["scheme"])

    await HTTPSRedirectMiddleware(ws_app)(
        make_scope(scope_type="websocket", scheme="wss"), None, None
    )

    assert seen == ["wss"]


async def test_lifespan_passes_through():
    seen: list[str] = []

    async def lifespan_app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    await HTTPSRedirectMiddleware(lifespan_app)({"type": "lifespan"}, None, None)

    assert seen == ["lifespan"]
