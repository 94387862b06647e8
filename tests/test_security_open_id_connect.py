"""OpenIdConnect called directly with hand-made requests."""

import pytest

from trioapi.exceptions import HTTPException
from trioapi.requests import Request
from trioapi.security import OpenIdConnect


def make_request(authorization: str | None = None) -> Request:
    headers = [] if authorization is None else [(b"authorization", authorization.encode("latin-1"))]
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers})


async def test_open_id_connect_returns_the_whole_header():
    scheme = OpenIdConnect(openIdConnectUrl="/openid")
    assert await scheme(make_request("Bearer abc")) == "Bearer abc"


@pytest.mark.parametrize("authorization", [None, ""])
async def test_open_id_connect_missing_header_answers_401_with_bearer_challenge(authorization):
    with pytest.raises(HTTPException, match="Not authenticated") as exc_info:
        await OpenIdConnect(openIdConnectUrl="/openid")(make_request(authorization))
    assert exc_info.value.status_code == 401
    assert exc_info.value.detail == "Not authenticated"
    assert exc_info.value.headers == {"WWW-Authenticate": "Bearer"}


async def test_open_id_connect_without_auto_error_resolves_to_none():
    assert await OpenIdConnect(openIdConnectUrl="/o", auto_error=False)(make_request()) is None


def test_open_id_connect_model_and_name():
    scheme = OpenIdConnect(openIdConnectUrl="/openid", description="d")
    assert scheme.scheme_name == "OpenIdConnect"
    assert scheme.model.model_dump(by_alias=True, exclude_none=True, mode="json") == {
        "type": "openIdConnect",
        "description": "d",
        "openIdConnectUrl": "/openid",
    }
    assert OpenIdConnect(openIdConnectUrl="/o", scheme_name="OIDC").scheme_name == "OIDC"
