"""The public surface of trioapi.security, as the dependency layer sees it."""

import inspect
from typing import get_type_hints

import pytest

import trioapi.security
from trioapi.openapi.models import SecurityBase as SecurityBaseModel
from trioapi.requests import HTTPConnection
from trioapi.security import (
    APIKeyCookie,
    APIKeyHeader,
    APIKeyQuery,
    HTTPBasic,
    HTTPBearer,
    HTTPDigest,
    OAuth2,
    OAuth2AuthorizationCodeBearer,
    OAuth2PasswordBearer,
    OpenIdConnect,
)
from trioapi.security.base import SecurityBase
from trioapi.security.http import HTTPBase

SCHEMES = [
    APIKeyQuery(name="k"),
    APIKeyHeader(name="k"),
    APIKeyCookie(name="k"),
    HTTPBase(scheme="x"),
    HTTPBasic(),
    HTTPBearer(),
    HTTPDigest(),
    OAuth2(),
    OAuth2PasswordBearer(tokenUrl="t"),
    OAuth2AuthorizationCodeBearer(authorizationUrl="a", tokenUrl="t"),
    OpenIdConnect(openIdConnectUrl="/o"),
]


def test_all_lists_every_public_name_fastapi_exports():
    assert sorted(trioapi.security.__all__) == [
        "APIKeyCookie",
        "APIKeyHeader",
        "APIKeyQuery",
        "HTTPAuthorizationCredentials",
        "HTTPBasic",
        "HTTPBasicCredentials",
        "HTTPBearer",
        "HTTPDigest",
        "OAuth2",
        "OAuth2AuthorizationCodeBearer",
        "OAuth2PasswordBearer",
        "OAuth2PasswordRequestForm",
        "OAuth2PasswordRequestFormStrict",
        "OpenIdConnect",
        "SecurityScopes",
    ]
    for name in trioapi.security.__all__:
        assert getattr(trioapi.security, name).__name__ == name


@pytest.mark.parametrize("scheme", SCHEMES, ids=lambda s: type(s).__name__)
def test_scheme_is_an_async_callable_the_di_layer_feeds_the_connection(scheme):
    # HTTPConnection, not Request: the DI layer then injects the request or
    # the websocket, so schemes guard websocket endpoints too (as in FastAPI).
    assert isinstance(scheme, SecurityBase)
    assert isinstance(scheme.model, SecurityBaseModel)
    assert inspect.iscoroutinefunction(type(scheme).__call__)
    parameters = list(inspect.signature(scheme).parameters)
    assert parameters == ["request"]
    assert get_type_hints(type(scheme).__call__)["request"] is HTTPConnection


@pytest.mark.parametrize("scheme", SCHEMES, ids=lambda s: type(s).__name__)
def test_scheme_defaults_to_auto_error_and_its_class_name(scheme):
    assert scheme.auto_error is True
    assert scheme.scheme_name == type(scheme).__name__
