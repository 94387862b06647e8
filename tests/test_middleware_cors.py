from __future__ import annotations

import pytest

from tests.middleware_support import call
from trioapi.middleware.cors import ALL_METHODS, CORSMiddleware
from trioapi.responses import PlainTextResponse
from trioapi.types import Receive, Scope, Send

ORIGIN = "https://example.org"
SAFELISTED = "Accept, Accept-Language, Content-Language, Content-Type"
PREFLIGHT_VARY = (
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers, "
    "Access-Control-Request-Private-Network"
)


async def homepage(scope: Scope, receive: Receive, send: Send) -> None:
    response = PlainTextResponse("Homepage", headers={"X-Custom": "yes"})
    await response(scope, receive, send)


def preflight_headers(
    origin: str = ORIGIN, method: str = "GET", headers: str | None = None
) -> list[tuple[str, str]]:
    result = [("origin", origin), ("access-control-request-method", method)]
    if headers is not None:
        result.append(("access-control-request-headers", headers))
    return result


async def preflight(app, **options):
    return await call(app, method="OPTIONS", headers=preflight_headers(**options))


async def test_allow_all_preflight_answers_star_and_echoes_requested_headers():
    app = CORSMiddleware(
        homepage, allow_origins=["*"], allow_headers=["*"], allow_methods=["*"], max_age=300
    )

    sent = await preflight(app, headers="X-Example, Content-Type")

    assert sent.status == 200
    assert sent.body == b"OK"
    assert sent.raw_headers == [
        ("vary", PREFLIGHT_VARY),
        ("access-control-allow-origin", "*"),
        ("access-control-allow-methods", ", ".join(ALL_METHODS)),
        ("access-control-max-age", "300"),
        ("access-control-allow-headers", "X-Example, Content-Type"),
        ("content-length", "2"),
        ("content-type", "text/plain; charset=utf-8"),
    ]


async def test_allow_all_with_credentials_echoes_the_origin_in_preflight():
    app = CORSMiddleware(homepage, allow_origins=["*"], allow_headers=["*"], allow_credentials=True)

    sent = await preflight(app)

    assert sent.status == 200
    assert sent.headers["access-control-allow-origin"] == ORIGIN
    assert sent.headers["access-control-allow-credentials"] == "true"
    assert sent.headers["vary"] == PREFLIGHT_VARY


async def test_allow_all_simple_request_gets_star_and_exposed_headers():
    app = CORSMiddleware(homepage, allow_origins=["*"], expose_headers=["X-Status", "X-Custom"])

    sent = await call(app, headers=[("origin", ORIGIN)])

    assert sent.status == 200
    assert sent.body == b"Homepage"
    assert sent.headers["access-control-allow-origin"] == "*"
    assert sent.headers["access-control-expose-headers"] == "X-Status, X-Custom"
    assert sent.headers["x-custom"] == "yes"
    assert sent.headers["vary"] == "Origin"
    assert "access-control-allow-credentials" not in sent.headers


@pytest.mark.parametrize("cookie", [[], [("cookie", "a=b")]])
async def test_allow_all_with_credentials_simple_request_gets_its_origin_back(cookie):
    app = CORSMiddleware(homepage, allow_origins=["*"], allow_credentials=True)

    sent = await call(app, headers=[("origin", ORIGIN), *cookie])

    assert sent.headers["access-control-allow-origin"] == ORIGIN
    assert sent.headers["access-control-allow-credentials"] == "true"
    assert sent.headers["vary"] == "Origin"


async def test_specific_origin_preflight_lists_safelisted_and_allowed_headers():
    app = CORSMiddleware(
        homepage, allow_origins=[ORIGIN], allow_headers=["X-Example"], allow_methods=["GET", "POST"]
    )

    sent = await preflight(app, method="POST", headers="x-example, content-type")

    assert sent.status == 200
    assert sent.raw_headers == [
        ("vary", PREFLIGHT_VARY),
        ("access-control-allow-methods", "GET, POST"),
        ("access-control-max-age", "600"),
        ("access-control-allow-headers", f"{SAFELISTED}, X-Example"),
        ("access-control-allow-origin", ORIGIN),
        ("content-length", "2"),
        ("content-type", "text/plain; charset=utf-8"),
    ]


async def test_preflight_names_every_refused_part():
    app = CORSMiddleware(homepage, allow_origins=[ORIGIN], allow_headers=["X-Example"])

    sent = await preflight(app, origin="https://evil.example", method="DELETE", headers="X-Nope")

    assert sent.status == 400
    assert sent.body == b"Disallowed CORS origin, method, headers"
    assert sent.headers["vary"] == PREFLIGHT_VARY
    assert "access-control-allow-origin" not in sent.headers


@pytest.mark.parametrize(
    ("options", "body"),
    [
        ({"origin": "https://other.org"}, b"Disallowed CORS origin"),
        ({"method": "PUT"}, b"Disallowed CORS method"),
        ({"headers": "X-Example, X-Other"}, b"Disallowed CORS headers"),
    ],
)
async def test_preflight_refuses_one_part(options, body):
    app = CORSMiddleware(homepage, allow_origins=[ORIGIN], allow_headers=["X-Example"])

    sent = await preflight(app, **options)

    assert (sent.status, sent.body) == (400, body)


async def test_preflight_without_requested_headers_is_allowed():
    app = CORSMiddleware(homepage, allow_origins=[ORIGIN])

    sent = await preflight(app)

    assert (sent.status, sent.body) == (200, b"OK")
    assert sent.headers["access-control-allow-headers"] == SAFELISTED


async def test_origin_regex_must_match_the_whole_origin():
    app = CORSMiddleware(homepage, allow_origin_regex=r"https://.*\.example\.org")

    allowed = await call(app, headers=[("origin", "https://api.example.org")])
    suffixed = await call(app, headers=[("origin", "https://api.example.org.evil.com")])
    preflight_ok = await preflight(app, origin="https://api.example.org")
    preflight_bad = await preflight(app, origin="https://api.example.org.evil.com")

    assert allowed.headers["access-control-allow-origin"] == "https://api.example.org"
    assert allowed.headers["vary"] == "Origin"
    assert "access-control-allow-origin" not in suffixed.headers
    assert preflight_ok.status == 200
    assert preflight_ok.headers["access-control-allow-origin"] == "https://api.example.org"
    assert (preflight_bad.status, preflight_bad.body) == (400, b"Disallowed CORS origin")


async def test_specific_origin_simple_request_echoes_allowed_origin_only():
    app = CORSMiddleware(homepage, allow_origins=[ORIGIN])

    allowed = await call(app, headers=[("origin", ORIGIN)])
    refused = await call(app, headers=[("origin", "https://other.org")])

    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert allowed.headers["vary"] == "Origin"
    assert refused.status == 200
    assert refused.body == b"Homepage"
    assert "access-control-allow-origin" not in refused.headers
    # The answer still depends on the origin, so caches must key on it.
    assert refused.headers["vary"] == "Origin"


@pytest.mark.parametrize(
    "options",
    [
        {"allow_origins": [ORIGIN]},
        {"allow_origins": ["*"]},
        {"allow_origins": ["*"], "allow_credentials": True},
    ],
)
async def test_vary_origin_is_added_after_all_of_the_apps_vary_lines(options):
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        response = PlainTextResponse("x", headers={"Vary": "Accept-Encoding"})
        response.headers.append("Vary", "Accept-Language")
        await response(scope, receive, send)

    sent = await call(CORSMiddleware(app, **options), headers=[("origin", ORIGIN)])

    assert sent.headers["vary"] == "Accept-Encoding, Accept-Language, Origin"


async def test_private_network_preflight_is_answered_only_when_allowed():
    headers = [*preflight_headers(), ("access-control-request-private-network", "true")]
    allowed = await call(
        CORSMiddleware(homepage, allow_origins=[ORIGIN], allow_private_network=True),
        method="OPTIONS",
        headers=headers,
    )
    refused = await call(
        CORSMiddleware(homepage, allow_origins=[ORIGIN]), method="OPTIONS", headers=headers
    )

    assert allowed.status == 200
    assert allowed.headers["access-control-allow-private-network"] == "true"
    assert (refused.status, refused.body) == (400, b"Disallowed CORS private-network")
    assert "access-control-allow-private-network" not in refused.headers


async def test_request_without_origin_gets_only_vary_origin():
    sent = await call(CORSMiddleware(homepage, allow_origins=["*"], allow_credentials=True))

    assert sent.raw_headers == [
        ("x-custom", "yes"),
        ("content-length", "8"),
        ("content-type", "text/plain; charset=utf-8"),
        ("vary", "Origin"),
    ]


async def test_options_without_request_method_goes_to_the_app():
    sent = await call(
        CORSMiddleware(homepage, allow_origins=["*"]),
        method="OPTIONS",
        headers=[("origin", ORIGIN)],
    )

    assert sent.body == b"Homepage"
    assert sent.headers["access-control-allow-origin"] == "*"


async def test_options_with_request_method_but_no_origin_goes_to_the_app():
    sent = await call(
        CORSMiddleware(homepage, allow_origins=["*"], allow_methods=["*"]),
        method="OPTIONS",
        headers=[("access-control-request-method", "GET")],
    )

    assert sent.body == b"Homepage"
    assert sent.headers["vary"] == "Origin"
    assert "access-control-allow-origin" not in sent.headers


async def test_wildcard_methods_allow_query_but_not_custom_methods():
    app = CORSMiddleware(homepage, allow_origins=["*"], allow_methods=["*"])

    query = await preflight(app, method="QUERY")
    custom = await preflight(app, method="CUSTOM")

    assert query.status == 200
    assert "QUERY" in query.headers["access-control-allow-methods"].split(", ")
    assert (custom.status, custom.body) == (400, b"Disallowed CORS method")
    assert custom.headers["vary"] == PREFLIGHT_VARY


async def test_default_methods_are_get_only():
    app = CORSMiddleware(homepage, allow_origins=["*"])

    sent = await preflight(app, method="POST")

    assert (sent.status, sent.body) == (400, b"Disallowed CORS method")
    assert sent.headers["access-control-allow-methods"] == "GET"


async def test_non_http_scopes_pass_through():
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    await CORSMiddleware(app, allow_origins=["*"])({"type": "websocket"}, None, None)

    assert seen == ["websocket"]
