"""APIKeyQuery, APIKeyHeader and APIKeyCookie called directly with hand-made requests."""

import pytest

from trioapi.exceptions import HTTPException
from trioapi.requests import Request
from trioapi.security import APIKeyCookie, APIKeyHeader, APIKeyQuery


def make_request(headers: dict[str, str] | None = None, query_string: bytes = b"") -> Request:
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    return Request(
        {"type": "http", "method": "GET", "path": "/", "headers": raw, "query_string": query_string}
    )


def assert_not_authenticated(exc: HTTPException) -> None:
    assert exc.status_code == 401
    assert exc.detail == "Not authenticated"
    assert exc.headers == {"WWW-Authenticate": "APIKey"}


async def test_api_key_query_returns_the_key_from_the_query_string():
    scheme = APIKeyQuery(name="key")
    assert await scheme(make_request(query_string=b"key=secret&other=1")) == "secret"


async def test_api_key_header_returns_the_key_whatever_the_header_case():
    scheme = APIKeyHeader(name="X-API-Key")
    assert await scheme(make_request({"x-api-key": "secret"})) == "secret"


async def test_api_key_cookie_returns_the_key_from_the_cookie():
    scheme = APIKeyCookie(name="session")
    assert await scheme(make_request({"cookie": "a=1; session=secret"})) == "secret"


@pytest.mark.parametrize(
    ("scheme", "request_kwargs"),
    [
        (APIKeyQuery(name="key"), {}),
        (APIKeyQuery(name="key"), {"query_string": b"key="}),
        (APIKeyHeader(name="X-Key"), {}),
        (APIKeyHeader(name="X-Key"), {"headers": {"X-Key": ""}}),
        (APIKeyCookie(name="session"), {}),
        (APIKeyCookie(name="session"), {"headers": {"cookie": "other=1"}}),
    ],
)
async def test_api_key_missing_or_empty_answers_401_with_apikey_challenge(scheme, request_kwargs):
    with pytest.raises(HTTPException, match="Not authenticated") as exc_info:
        await scheme(make_request(**request_kwargs))
    assert_not_authenticated(exc_info.value)


@pytest.mark.parametrize("scheme_class", [APIKeyQuery, APIKeyHeader, APIKeyCookie])
async def test_api_key_without_auto_error_resolves_to_none_when_missing(scheme_class):
    scheme = scheme_class(name="key", auto_error=False)
    assert await scheme(make_request()) is None


@pytest.mark.parametrize(
    ("scheme_class", "location"),
    [(APIKeyQuery, "query"), (APIKeyHeader, "header"), (APIKeyCookie, "cookie")],
)
def test_api_key_model_dumps_as_openapi_security_scheme(scheme_class, location):
    scheme = scheme_class(name="key", description="The key")
    assert scheme.model.model_dump(by_alias=True, exclude_none=True, mode="json") == {
        "type": "apiKey",
        "description": "The key",
        "in": location,
        "name": "key",
    }
    assert scheme.scheme_name == scheme_class.__name__


def test_api_key_scheme_name_overrides_the_class_name():
    scheme = APIKeyHeader(name="key", scheme_name="Token")
    assert scheme.scheme_name == "Token"
    assert scheme.auto_error is True
    assert scheme.model.model_dump(by_alias=True, exclude_none=True) == {
        "type": scheme.model.type_,
        "in": scheme.model.in_,
        "name": "key",
    }


async def test_api_key_error_can_be_overridden_by_a_subclass():
    class Forbidding(APIKeyHeader):
        def make_not_authenticated_error(self) -> HTTPException:
            return HTTPException(status_code=403, detail="Forbidden here")

    with pytest.raises(HTTPException, match="Forbidden here") as exc_info:
        await Forbidding(name="key")(make_request())
    assert exc_info.value.status_code == 403
