"""Hostile ``Host`` headers and URLs: they never reach ``request.url``, ``url_for`` or redirects.

A ``Host`` value that is not ``host[:port]`` is ignored (the server's address
stands in, as in Starlette 1.x); host names compare case-insensitively in
``TrustedHostMiddleware``, ``HTTPSRedirectMiddleware`` and ``Host`` routes; a
bad value is a 400 or 404, never a ``ValueError`` out of the app.
"""

from __future__ import annotations

from typing import Any

import pytest
import trio

from tests.serving import run_hypercorn
from trioapi import Request, TrioAPI
from trioapi._host import parse_host
from trioapi.datastructures import URL
from trioapi.middleware.httpsredirect import HTTPSRedirectMiddleware
from trioapi.middleware.trustedhost import TrustedHostMiddleware
from trioapi.responses import PlainTextResponse
from trioapi.routing import Host, Route, Router
from trioapi.testclient import TestClient

POISONED = [
    "127.0.0.1@evil.example",
    "user:pw@evil.example",
    "evil.example/path",
    "evil.example?q=1",
    "evil.example#frag",
    "evil.example\\x",
    "good.example:port",
    "good.example:",
    "good example",
    "[::1",
    "[not:an:address]",
    "",
]
# Well-formed but out of range: request.url ignores them; host matching ignores the port.
BAD_PORTS = ["good.example:65536", "good.example:100000"]


def scope_for(host: bytes | None, path: str = "/p", server: Any = ("10.0.0.1", 8000)) -> dict:
    headers = [] if host is None else [(b"host", host)]
    return {
        "type": "http",
        "scheme": "http",
        "path": path,
        "query_string": b"q=1",
        "headers": headers,
        "server": server,
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("example.com", ("example.com", None)),
        ("Example.COM:8080", ("Example.COM", "8080")),
        ("127.0.0.1:80", ("127.0.0.1", "80")),
        ("[::1]:8000", ("[::1]", "8000")),
        ("[2001:db8::1]", ("[2001:db8::1]", None)),
        ("my_service:000080", ("my_service", "000080")),
        ("[v1.foo]", ("[v1.foo]", None)),
    ],
)
def test_valid_host_values_parse_to_host_and_port(value, expected):
    parsed = parse_host(value)
    assert parsed is not None
    assert (parsed.host, parsed.port) == expected
    assert parsed.has_valid_port


@pytest.mark.parametrize("value", POISONED)
def test_values_that_are_not_a_host_are_refused(value):
    assert parse_host(value) is None


@pytest.mark.parametrize("value", BAD_PORTS)
def test_a_port_past_65535_is_well_formed_but_not_valid(value):
    parsed = parse_host(value)
    assert parsed is not None
    assert not parsed.has_valid_port


@pytest.mark.parametrize("value", POISONED + BAD_PORTS)
def test_a_poisoned_host_never_reaches_the_url(value):
    url = URL(scope=scope_for(value.encode("latin-1")))
    assert str(url) == "http://10.0.0.1:8000/p?q=1"
    assert (url.hostname, url.port, url.path) == ("10.0.0.1", 8000, "/p")


def test_a_valid_host_is_the_urls_authority():
    assert str(URL(scope=scope_for(b"Example.com:8080"))) == "http://Example.com:8080/p?q=1"
    assert str(URL(scope=scope_for(b"[::1]:8000"))) == "http://[::1]:8000/p?q=1"


def test_an_ipv6_server_address_is_bracketed():
    url = URL(scope=scope_for(None, server=("::1", 80)))
    assert (str(url), url.hostname, url.port) == ("http://[::1]/p?q=1", "::1", None)


@pytest.mark.parametrize(
    ("path", "url_path"),
    [
        ("http://evil.example/x", "/http://evil.example/x"),  # absolute-form target
        ("//evil.example/x", "//evil.example/x"),
        ("*", "/*"),
        ("/a?b#c", "/a%3Fb%23c"),  # sent as /a%3Fb%23c: still one path
        ("/\\evil.example/a", "/%5Cevil.example/a"),  # browsers read "\\" as "/"
    ],
)
def test_an_authority_or_separators_in_the_path_stay_in_the_path(path, url_path):
    url = URL(scope=scope_for(b"good.example", path=path))
    assert (url.netloc, url.path, url.query) == ("good.example", url_path, "q=1")


def test_a_path_starting_with_two_slashes_is_no_authority_without_a_host():
    url = URL(scope=scope_for(None, path="//evil.example/x", server=None))
    assert (url.netloc, url.path) == ("", "/%2Fevil.example/x")


# -- middleware and routes ---------------------------------------------------------


async def ok(scope: Any, receive: Any, send: Any) -> None:
    await PlainTextResponse("OK")(scope, receive, send)


def test_trusted_host_compares_host_names_case_insensitively():
    app = TrustedHostMiddleware(ok, allowed_hosts=["Example.com", "*.Example.org", "::1"])
    client = TestClient(app)
    statuses = {
        host: client.get("/", headers={"host": host}).status_code
        for host in ["EXAMPLE.COM", "example.com:8000", "API.example.ORG", "[::1]:80", "[::2]"]
    }
    assert statuses == {
        "EXAMPLE.COM": 200,
        "example.com:8000": 200,
        "API.example.ORG": 200,
        "[::1]:80": 200,
        "[::2]": 400,
    }


@pytest.mark.parametrize("value", POISONED)
def test_trusted_host_refuses_every_value_that_is_not_a_host(value):
    app = TrustedHostMiddleware(ok, allowed_hosts=["good.example", "*.good.example"])
    response = TestClient(app).get("/", headers={"host": value})
    assert (response.status_code, response.text) == (400, "Invalid host header")


@pytest.mark.parametrize("value", BAD_PORTS)
def test_trusted_host_ignores_the_port_even_out_of_range(value):
    # As Starlette 1.10: the host is what is trusted; request.url ignores the value.
    app = TrustedHostMiddleware(ok, allowed_hosts=["good.example"])
    assert TestClient(app).get("/", headers={"host": value}).status_code == 200


def test_https_redirect_without_a_valid_host_or_server_is_400():
    middleware = HTTPSRedirectMiddleware(ok)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        scope.pop("server", None)
        await middleware(scope, receive, send)

    response = TestClient(app).get("/", headers={"host": "[:::]"}, follow_redirects=False)
    assert (response.status_code, response.text) == (400, "Invalid host header")


def test_trusted_host_www_redirect_ignores_case():
    app = TrustedHostMiddleware(ok, allowed_hosts=["www.example.com"])
    response = TestClient(app, follow_redirects=False).get("/p", headers={"host": "Example.COM"})
    assert (response.status_code, response.headers["location"]) == (
        307,
        "http://www.Example.COM/p",
    )


@pytest.mark.parametrize(
    ("host", "location"),
    [
        ("[::1]:80", "https://[::1]/p?q=1"),
        ("[::1]:8080", "https://[::1]:8080/p?q=1"),
        ("Example.com:80", "https://Example.com/p?q=1"),
        ("127.0.0.1@evil.example", "https://testserver/p?q=1"),
        ("evil.example:bad", "https://testserver/p?q=1"),
        ("testserver:65536", "https://testserver/p?q=1"),
        ("testserver:000080", "https://testserver/p?q=1"),
    ],
)
def test_https_redirect_keeps_ipv6_brackets_and_ignores_a_poisoned_host(host, location):
    client = TestClient(HTTPSRedirectMiddleware(ok), follow_redirects=False)
    response = client.get("/p?q=1", headers={"host": host})
    assert (response.status_code, response.headers["location"]) == (307, location)


def test_host_routes_match_case_insensitively_and_a_bad_host_is_404():
    async def which(request: Request) -> PlainTextResponse:
        return PlainTextResponse(request.path_params.get("sub", "main"))

    app = Router(
        [
            Host("{sub}.Example.org", Router([Route("/", which)])),
            Host("example.org", Router([Route("/", which)])),
            Host("[::1]", Router([Route("/", which)])),
        ]
    )
    client = TestClient(app)
    answers = {
        host: (response.status_code, response.text)
        for host in [
            "API.example.ORG:8000",
            "EXAMPLE.org",
            "[::1]:8000",
            "api.example.org@evil",
            "api.example.org:65536",
        ]
        for response in [client.get("/", headers={"host": host})]
    }
    assert answers == {
        "API.example.ORG:8000": (200, "api"),
        "EXAMPLE.org": (200, "main"),
        "[::1]:8000": (200, "main"),
        "api.example.org@evil": (404, "Not Found"),
        "api.example.org:65536": (200, "api"),  # the port is ignored, as in Starlette
    }


# -- through hypercorn: request.url, url_for and redirects ---------------------------


def url_app() -> TrioAPI:
    app = TrioAPI()

    @app.get("/where")
    async def where(request: Request) -> dict[str, str]:
        return {"url": str(request.url), "for": str(request.url_for("where"))}

    @app.get("/slash/")
    async def slash() -> dict[str, bool]:
        return {"ok": True}

    return app


async def raw_get(url: str, target: str, host: bytes) -> tuple[bytes, bytes]:
    address, port = url.removeprefix("http://").rsplit(":", 1)
    stream = await trio.open_tcp_stream(address, int(port))
    received = b""
    request = f"GET {target} HTTP/1.1\r\n".encode() + b"Host: " + host + b"\r\n"
    with trio.fail_after(5):
        await stream.send_all(request + b"Connection: close\r\n\r\n")
        while data := await stream.receive_some():
            received += data
    await stream.aclose()
    head, _, body = received.partition(b"\r\n\r\n")
    return head, body


async def test_poisoned_hosts_through_hypercorn_never_reach_urls_or_redirects():
    async with run_hypercorn(url_app()) as url:
        port = url.rsplit(":", 1)[1]
        answers = [
            await raw_get(url, target, host)
            for target, host in [
                ("/where", b"127.0.0.1@evil.example"),
                ("/where", b"evil.example/x?"),
                ("/where", b"good.example:bad"),
                ("/slash", b"127.0.0.1@evil.example"),
                ("/where", b"Good.Example:8080"),
                ("http://evil.example/where", b"good.example"),
            ]
        ]
    own = f"http://127.0.0.1:{port}"
    for head, body in answers[:3]:
        assert head.startswith(b"HTTP/1.1 200")
        assert body == f'{{"url":"{own}/where","for":"{own}/where"}}'.encode()
    slash_head, _ = answers[3]
    assert slash_head.startswith(b"HTTP/1.1 307")
    assert f"location: {own}/slash/".encode() in slash_head.lower()
    assert b"evil" not in slash_head
    good_head, good_body = answers[4]
    assert good_body == (
        b'{"url":"http://Good.Example:8080/where","for":"http://Good.Example:8080/where"}'
    )
    absolute_head, _ = answers[5]
    assert absolute_head.startswith(b"HTTP/1.1 404")


def test_url_replace_brackets_an_ipv6_hostname_but_keeps_a_host_with_port():
    url = URL("https://[fe::2]:12345/p")
    assert str(url.replace(hostname="fe::2")) == "https://[fe::2]:12345/p"
    assert str(url.replace(hostname="example.org:8080", port=None)) == "https://example.org:8080/p"
