"""HTTPBase, HTTPBasic, HTTPBearer and HTTPDigest called directly with hand-made requests."""

from base64 import b64encode

import pytest

from trioapi.exceptions import HTTPException
from trioapi.requests import Request
from trioapi.security import (
    HTTPAuthorizationCredentials,
    HTTPBasic,
    HTTPBasicCredentials,
    HTTPBearer,
    HTTPDigest,
)
from trioapi.security.http import HTTPBase
from trioapi.security.utils import get_authorization_scheme_param


def make_request(authorization: str | None = None) -> Request:
    headers = [] if authorization is None else [(b"authorization", authorization.encode("latin-1"))]
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers})


def basic(text: bytes) -> str:
    return "Basic " + b64encode(text).decode("ascii")


async def raise_401(scheme, authorization: str | None) -> HTTPException:
    with pytest.raises(HTTPException, match="Not authenticated") as exc_info:
        await scheme(make_request(authorization))
    assert exc_info.value.status_code == 401
    assert exc_info.value.detail == "Not authenticated"
    return exc_info.value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ("", "")),
        ("", ("", "")),
        ("Bearer abc", ("Bearer", "abc")),
        ("Bearer   abc  ", ("Bearer", "abc")),
        ("Bearer", ("Bearer", "")),
        ("Digest a=1, b=2", ("Digest", "a=1, b=2")),
    ],
)
def test_get_authorization_scheme_param_splits_at_the_first_space(value, expected):
    assert get_authorization_scheme_param(value) == expected


# --- HTTPBasic -------------------------------------------------------------------


async def test_http_basic_decodes_user_and_password():
    credentials = await HTTPBasic()(make_request(basic(b"john:se:cret")))
    assert credentials == HTTPBasicCredentials(username="john", password="se:cret")


async def test_http_basic_accepts_the_scheme_in_any_case():
    credentials = await HTTPBasic()(make_request("bAsIc " + b64encode(b"a:b").decode()))
    assert credentials == HTTPBasicCredentials(username="a", password="b")


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer abc", "Basic notabase64token", basic(b"johnsecret"), basic("é:x".encode())],
    ids=["missing", "other-scheme", "not-base64", "no-colon", "not-ascii"],
)
async def test_http_basic_failures_answer_401_with_basic_challenge(authorization):
    exc = await raise_401(HTTPBasic(), authorization)
    assert exc.headers == {"WWW-Authenticate": "Basic"}


async def test_http_basic_challenge_names_the_realm():
    exc = await raise_401(HTTPBasic(realm="simple"), None)
    assert exc.headers == {"WWW-Authenticate": 'Basic realm="simple"'}


async def test_http_basic_without_auto_error_resolves_to_none_when_missing_or_not_basic():
    scheme = HTTPBasic(auto_error=False)
    assert await scheme(make_request()) is None
    assert await scheme(make_request("Bearer abc")) is None


async def test_http_basic_without_auto_error_still_rejects_undecodable_credentials():
    exc = await raise_401(HTTPBasic(auto_error=False), "Basic notabase64token")
    assert exc.headers == {"WWW-Authenticate": "Basic"}


# --- HTTPBearer ------------------------------------------------------------------


async def test_http_bearer_returns_scheme_as_sent_and_token():
    credentials = await HTTPBearer()(make_request("bearer tok.en"))
    assert credentials == HTTPAuthorizationCredentials(scheme="bearer", credentials="tok.en")


@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Bearer   ", "Basic abc"])
async def test_http_bearer_failures_answer_401_with_bearer_challenge(authorization):
    exc = await raise_401(HTTPBearer(), authorization)
    assert exc.headers == {"WWW-Authenticate": "Bearer"}


@pytest.mark.parametrize("authorization", [None, "Bearer", "Basic abc"])
async def test_http_bearer_without_auto_error_resolves_to_none(authorization):
    assert await HTTPBearer(auto_error=False)(make_request(authorization)) is None


# --- HTTPDigest and HTTPBase -----------------------------------------------------


async def test_http_digest_returns_the_digest_parameters():
    credentials = await HTTPDigest()(make_request("Digest username=a"))
    assert credentials == HTTPAuthorizationCredentials(scheme="Digest", credentials="username=a")


@pytest.mark.parametrize("authorization", [None, "Digest", "Bearer abc"])
async def test_http_digest_failures_answer_401_with_digest_challenge(authorization):
    exc = await raise_401(HTTPDigest(), authorization)
    assert exc.headers == {"WWW-Authenticate": "Digest"}


@pytest.mark.parametrize("authorization", [None, "Bearer abc"])
async def test_http_digest_without_auto_error_resolves_to_none(authorization):
    assert await HTTPDigest(auto_error=False)(make_request(authorization)) is None


async def test_http_base_accepts_any_scheme_and_challenges_with_its_own():
    scheme = HTTPBase(scheme="other")
    credentials = await scheme(make_request("Custom xyz"))
    assert credentials == HTTPAuthorizationCredentials(scheme="Custom", credentials="xyz")
    exc = await raise_401(scheme, "Custom")
    assert exc.headers == {"WWW-Authenticate": "Other"}
    assert await HTTPBase(scheme="other", auto_error=False)(make_request()) is None


async def test_http_error_can_be_overridden_to_answer_403():
    class HTTPBearer403(HTTPBearer):
        def make_not_authenticated_error(self) -> HTTPException:
            return HTTPException(status_code=403, detail="Not authenticated")

    with pytest.raises(HTTPException, match="Not authenticated") as exc_info:
        await HTTPBearer403()(make_request())
    assert exc_info.value.status_code == 403
    assert exc_info.value.headers is None


# --- OpenAPI models --------------------------------------------------------------


@pytest.mark.parametrize(
    ("scheme", "expected"),
    [
        (HTTPBasic(), {"type": "http", "scheme": "basic"}),
        (HTTPBasic(description="d"), {"type": "http", "description": "d", "scheme": "basic"}),
        (HTTPDigest(), {"type": "http", "scheme": "digest"}),
        (HTTPBearer(), {"type": "http", "scheme": "bearer"}),
        (
            HTTPBearer(bearerFormat="JWT", description="d"),
            {"type": "http", "description": "d", "scheme": "bearer", "bearerFormat": "JWT"},
        ),
        (HTTPBase(scheme="custom"), {"type": "http", "scheme": "custom"}),
    ],
)
def test_http_model_dumps_as_openapi_security_scheme(scheme, expected):
    assert scheme.model.model_dump(by_alias=True, exclude_none=True, mode="json") == expected


def test_http_scheme_names_default_to_the_class_name():
    assert HTTPBasic().scheme_name == "HTTPBasic"
    assert HTTPBearer().scheme_name == "HTTPBearer"
    assert HTTPDigest().scheme_name == "HTTPDigest"
    assert HTTPBearer(scheme_name="Token").scheme_name == "Token"
    assert HTTPBasic(realm="r").realm == "r"
