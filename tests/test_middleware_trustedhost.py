from __future__ import annotations

import pytest

from tests.middleware_support import call, make_scope
from trioapi.exceptions import TrioAPIError
from trioapi.middleware.trustedhost import TrustedHostMiddleware
from trioapi.responses import PlainTextResponse
from trioapi.types import Receive, Scope, Send


async def homepage(scope: Scope, receive: Receive, send: Send) -> None:
    await PlainTextResponse("OK")(scope, receive, send)


def host(value: str) -> list[tuple[str, str]]:
    return [("host", value)]


async def test_listed_host_reaches_the_app():
    app = TrustedHostMiddleware(homepage, allowed_hosts=["testserver", "*.example.com"])

    sent = await call(app, headers=host("testserver"))

    assert (sent.status, sent.body) == (200, b"OK")


async def test_unlisted_host_gets_400():
    app = TrustedHostMiddleware(homepage, allowed_hosts=["testserver"])

    sent = await call(app, headers=host("evil.example"))

    assert sent.status == 400
    assert sent.body == b"Invalid host header"
    assert sent.headers["content-type"] == "text/plain; charset=utf-8"


async def test_missing_host_header_gets_400():
    sent = await call(TrustedHostMiddleware(homepage, allowed_hosts=["testserver"]))

    assert (sent.status, sent.body) == (400, b"Invalid host header")


@pytest.mark.parametrize(
    ("value", "status"),
    [
        ("api.example.com", 200),
        ("a.b.example.com", 200),
        ("api.example.com:8000", 200),
        ("example.com", 400),
        ("evilexample.com", 400),
    ],
)
async def test_wildcard_allows_subdomains_only(value, status):
    app = TrustedHostMiddleware(homepage, allowed_hosts=["*.example.com"])

    sent = await call(app, headers=host(value))

    assert sent.status == status


async def test_port_is_ignored():
    app = TrustedHostMiddleware(homepage, allowed_hosts=["testserver"])

    sent = await call(app, headers=host("testserver:8000"))

    assert sent.status == 200


async def test_bracketed_ipv6_host_keeps_its_address():
    app = TrustedHostMiddleware(homepage, allowed_hosts=["[::1]"])

    allowed = await call(app, headers=host("[::1]:8000"))
    refused = await call(app, headers=host("[::2]:8000"))

    assert (allowed.status, refused.status) == (200, 400)


async def test_bare_domain_is_redirected_to_its_www_form():
    app = TrustedHostMiddleware(homepage, allowed_hosts=["www.example.com"])

    sent = await call(app, path="/items", query_string=b"page=2", headers=host("example.com"))

    assert sent.status == 307
    assert sent.headers["location"] == "http://www.example.com/items?page=2"
    assert sent.body == b""


async def test_www_redirect_can_be_turned_off():
    app = TrustedHostMiddleware(homepage, allowed_hosts=["www.example.com"], www_redirect=False)

    sent = await call(app, headers=host("example.com"))

    assert (sent.status, sent.body) == (400, b"Invalid host header")


async def test_default_allows_any_host():
    sent = await call(TrustedHostMiddleware(homepage), headers=host("anything.at.all"))

    assert sent.status == 200


async def test_websocket_with_a_bad_host_is_refused_with_an_http_response():
    app = TrustedHostMiddleware(homepage, allowed_hosts=["testserver"])

    sent = await call(app, make_scope(scope_type="websocket", scheme="ws", headers=host("evil")))

    assert [m["type"] for m in sent.messages] == [
        "websocket.http.response.start",
        "websocket.http.response.body",
    ]
    assert (sent.status, sent.body) == (400, b"Invalid host header")


async def test_lifespan_passes_through():
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    await TrustedHostMiddleware(app, allowed_hosts=["testserver"])({"type": "lifespan"}, None, None)

    assert seen == ["lifespan"]


@pytest.mark.parametrize("pattern", ["example.*", "*example.com", "api.*.example.com", "**.x.com"])
def test_misplaced_wildcard_is_a_configuration_error(pattern):
    with pytest.raises(
        TrioAPIError, match=r"Domain wildcard patterns must be like '\*\.example\.com'"
    ):
        TrustedHostMiddleware(homepage, allowed_hosts=[pattern])
