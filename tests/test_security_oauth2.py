"""OAuth2 schemes, the password form and SecurityScopes, called directly."""

import inspect
from typing import get_type_hints

import pytest

from trioapi.exceptions import HTTPException
from trioapi.requests import Request
from trioapi.security import (
    OAuth2,
    OAuth2AuthorizationCodeBearer,
    OAuth2PasswordBearer,
    OAuth2PasswordRequestForm,
    OAuth2PasswordRequestFormStrict,
    SecurityScopes,
)


def make_request(authorization: str | None = None) -> Request:
    headers = [] if authorization is None else [(b"authorization", authorization.encode("latin-1"))]
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers})


def dump(scheme) -> dict:
    return scheme.model.model_dump(by_alias=True, exclude_none=True, mode="json")


BEARERS = [
    OAuth2PasswordBearer(tokenUrl="token"),
    OAuth2AuthorizationCodeBearer(authorizationUrl="authorize", tokenUrl="token"),
]


@pytest.mark.parametrize("scheme", BEARERS)
@pytest.mark.parametrize(
    ("authorization", "token"),
    [("Bearer abc", "abc"), ("bearer abc", "abc"), ("BEARER  abc ", "abc"), ("Bearer", "")],
)
async def test_oauth2_bearers_return_the_token(scheme, authorization, token):
    assert await scheme(make_request(authorization)) == token


@pytest.mark.parametrize("scheme", BEARERS)
@pytest.mark.parametrize("authorization", [None, "", "Basic abc", "Token abc"])
async def test_oauth2_bearers_answer_401_with_bearer_challenge(scheme, authorization):
    with pytest.raises(HTTPException, match="Not authenticated") as exc_info:
        await scheme(make_request(authorization))
    assert exc_info.value.status_code == 401
    assert exc_info.value.detail == "Not authenticated"
    assert exc_info.value.headers == {"WWW-Authenticate": "Bearer"}


@pytest.mark.parametrize(
    "scheme",
    [
        OAuth2PasswordBearer(tokenUrl="token", auto_error=False),
        OAuth2AuthorizationCodeBearer(authorizationUrl="a", tokenUrl="t", auto_error=False),
    ],
)
@pytest.mark.parametrize("authorization", [None, "Basic abc"])
async def test_oauth2_bearers_without_auto_error_resolve_to_none(scheme, authorization):
    assert await scheme(make_request(authorization)) is None


async def test_oauth2_base_returns_the_whole_header():
    assert await OAuth2()(make_request("Whatever xyz")) == "Whatever xyz"
    assert await OAuth2(auto_error=False)(make_request()) is None
    with pytest.raises(HTTPException, match="Not authenticated") as exc_info:
        await OAuth2()(make_request())
    assert exc_info.value.status_code == 401
    assert exc_info.value.headers == {"WWW-Authenticate": "Bearer"}


def test_oauth2_password_bearer_model():
    assert dump(OAuth2PasswordBearer(tokenUrl="token")) == {
        "type": "oauth2",
        "flows": {"password": {"scopes": {}, "tokenUrl": "token"}},
    }
    scheme = OAuth2PasswordBearer(
        tokenUrl="token",
        scopes={"me": "Read me"},
        description="d",
        refreshUrl="refresh",
        scheme_name="Pwd",
    )
    assert scheme.scheme_name == "Pwd"
    assert dump(scheme) == {
        "type": "oauth2",
        "description": "d",
        "flows": {
            "password": {"refreshUrl": "refresh", "scopes": {"me": "Read me"}, "tokenUrl": "token"}
        },
    }


def test_oauth2_authorization_code_bearer_model():
    scheme = OAuth2AuthorizationCodeBearer(
        authorizationUrl="authorize", tokenUrl="token", refreshUrl="refresh", scopes={"a": "A"}
    )
    assert scheme.scheme_name == "OAuth2AuthorizationCodeBearer"
    assert dump(scheme) == {
        "type": "oauth2",
        "flows": {
            "authorizationCode": {
                "refreshUrl": "refresh",
                "scopes": {"a": "A"},
                "authorizationUrl": "authorize",
                "tokenUrl": "token",
            }
        },
    }


def test_oauth2_accepts_flows_as_a_dict():
    scheme = OAuth2(flows={"implicit": {"authorizationUrl": "auth"}}, description="d")
    assert scheme.scheme_name == "OAuth2"
    assert dump(scheme) == {
        "type": "oauth2",
        "description": "d",
        "flows": {"implicit": {"scopes": {}, "authorizationUrl": "auth"}},
    }
    assert dump(OAuth2()) == {"type": "oauth2", "flows": {}}


def test_password_request_form_splits_scopes():
    form = OAuth2PasswordRequestForm(username="u", password="p", scope="me  items:read")
    assert form.grant_type is None
    assert (form.username, form.password) == ("u", "p")
    assert form.scopes == ["me", "items:read"]
    assert form.client_id is None
    assert form.client_secret is None


def test_password_request_form_strict_requires_grant_type_positionally():
    form = OAuth2PasswordRequestFormStrict("password", "u", "p", "", "id", "secret")
    assert form.grant_type == "password"
    assert form.scopes == []
    assert (form.client_id, form.client_secret) == ("id", "secret")
    grant_type = inspect.signature(OAuth2PasswordRequestFormStrict).parameters["grant_type"]
    assert grant_type.default is inspect.Parameter.empty


def form_fields(cls) -> dict:
    hints = get_type_hints(cls.__init__, include_extras=True)
    return {name: hint.__metadata__[0] for name, hint in hints.items() if name != "return"}


def test_password_request_form_declares_its_fields_as_form_params():
    from trioapi.params import Form as FormInfo

    fields = form_fields(OAuth2PasswordRequestForm)
    assert list(fields) == [
        "grant_type",
        "username",
        "password",
        "scope",
        "client_id",
        "client_secret",
    ]
    assert all(isinstance(info, FormInfo) for info in fields.values())
    assert any(getattr(m, "pattern", None) == "^password$" for m in fields["grant_type"].metadata)
    assert fields["password"].json_schema_extra == {"format": "password"}
    assert fields["client_secret"].json_schema_extra == {"format": "password"}
    assert fields["username"].json_schema_extra is None


def test_strict_password_form_does_not_mark_the_password_format():
    fields = form_fields(OAuth2PasswordRequestFormStrict)
    assert fields["password"].json_schema_extra is None
    assert fields["client_secret"].json_schema_extra is None


def test_security_scopes_joins_scopes_with_spaces():
    scopes = SecurityScopes(["me", "items"])
    assert scopes.scopes == ["me", "items"]
    assert scopes.scope_str == "me items"
    empty = SecurityScopes()
    assert (empty.scopes, empty.scope_str) == ([], "")
