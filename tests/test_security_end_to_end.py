"""Security schemes used as dependencies of a TrioAPI app, through the TestClient."""

from base64 import b64encode
from typing import Annotated

import pytest

from trioapi.applications import TrioAPI
from trioapi.exceptions import HTTPException
from trioapi.param_functions import Depends, Security
from trioapi.security import (
    APIKeyCookie,
    APIKeyHeader,
    APIKeyQuery,
    HTTPAuthorizationCredentials,
    HTTPBasic,
    HTTPBasicCredentials,
    HTTPBearer,
    OAuth2PasswordBearer,
    OAuth2PasswordRequestForm,
    OpenIdConnect,
    SecurityScopes,
)
from trioapi.testclient import TestClient

oauth2 = OAuth2PasswordBearer(tokenUrl="token", scopes={"me": "Read me", "items": "Read items"})
optional_bearer = HTTPBearer(auto_error=False)


class HTTPBearer403(HTTPBearer):
    def make_not_authenticated_error(self) -> HTTPException:
        return HTTPException(status_code=403, detail="Not authenticated")


def current_scopes(security_scopes: SecurityScopes, token: Annotated[str, Depends(oauth2)]):
    return {"token": token, "scopes": security_scopes.scopes}


def build_app() -> TrioAPI:
    app = TrioAPI()

    @app.get("/basic")
    def read_basic(credentials: Annotated[HTTPBasicCredentials, Depends(HTTPBasic(realm="r"))]):
        return {"username": credentials.username, "password": credentials.password}

    @app.get("/bearer")
    def read_bearer(credentials: Annotated[HTTPAuthorizationCredentials, Depends(HTTPBearer())]):
        return {"scheme": credentials.scheme, "credentials": credentials.credentials}

    @app.get("/optional")
    def read_optional(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(optional_bearer)],
    ):
        return {"credentials": None if credentials is None else credentials.credentials}

    @app.get("/forbidding")
    def read_forbidding(
        credentials: Annotated[HTTPAuthorizationCredentials, Depends(HTTPBearer403())],
    ):
        return {"token": credentials.credentials}

    @app.get("/keys")
    def read_keys(
        query: Annotated[str, Depends(APIKeyQuery(name="key"))],
        header: Annotated[str, Depends(APIKeyHeader(name="X-Key"))],
        cookie: Annotated[str, Depends(APIKeyCookie(name="session"))],
    ):
        return [query, header, cookie]

    @app.get("/oidc")
    def read_oidc(authorization: Annotated[str, Depends(OpenIdConnect(openIdConnectUrl="/conf"))]):
        return {"authorization": authorization}

    @app.get("/items")
    def read_items(info: Annotated[dict, Security(current_scopes, scopes=["items"])]):
        return info

    @app.post("/token")
    def login(form: Annotated[OAuth2PasswordRequestForm, Depends()]):
        return {"username": form.username, "password": form.password, "scopes": form.scopes}

    return app


@pytest.fixture(scope="module")
def client():
    return TestClient(build_app())


def assert_401(response, challenge: str) -> None:
    assert response.status_code == 401, response.text
    assert response.json() == {"detail": "Not authenticated"}
    assert response.headers["WWW-Authenticate"] == challenge


def test_http_basic_over_http(client):
    response = client.get("/basic", auth=("john", "secret"))
    assert response.status_code == 200
    assert response.json() == {"username": "john", "password": "secret"}
    assert_401(client.get("/basic"), 'Basic realm="r"')
    bad = "Basic " + b64encode(b"johnsecret").decode()
    assert_401(client.get("/basic", headers={"Authorization": bad}), 'Basic realm="r"')


def test_http_bearer_over_http(client):
    response = client.get("/bearer", headers={"Authorization": "Bearer abc"})
    assert response.json() == {"scheme": "Bearer", "credentials": "abc"}
    assert_401(client.get("/bearer"), "Bearer")
    assert_401(client.get("/bearer", headers={"Authorization": "Basic abc"}), "Bearer")


def test_optional_bearer_over_http(client):
    assert client.get("/optional").json() == {"credentials": None}
    assert client.get("/optional", headers={"Authorization": "Bearer t"}).json() == {
        "credentials": "t"
    }


def test_overridden_error_answers_403_without_challenge(client):
    response = client.get("/forbidding")
    assert response.status_code == 403
    assert response.json() == {"detail": "Not authenticated"}
    assert "WWW-Authenticate" not in response.headers


def test_api_keys_over_http(client):
    client.cookies.set("session", "c")
    try:
        response = client.get("/keys?key=q", headers={"X-Key": "h"})
        assert response.json() == ["q", "h", "c"]
        assert_401(client.get("/keys", headers={"X-Key": "h"}), "APIKey")
    finally:
        client.cookies.clear()


def test_open_id_connect_over_http(client):
    response = client.get("/oidc", headers={"Authorization": "Bearer t"})
    assert response.json() == {"authorization": "Bearer t"}
    assert_401(client.get("/oidc"), "Bearer")


def test_security_scopes_and_password_bearer_over_http(client):
    response = client.get("/items", headers={"Authorization": "Bearer tok"})
    assert response.json() == {"token": "tok", "scopes": ["items"]}
    assert_401(client.get("/items"), "Bearer")


def test_password_form_over_http(client):
    data = {"username": "john", "password": "pw", "scope": "me items"}
    response = client.post("/token", data=data)
    assert response.json() == {"username": "john", "password": "pw", "scopes": ["me", "items"]}
    response = client.post("/token", data={**data, "grant_type": "other"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "grant_type"]


def test_security_schemes_in_openapi(client):
    schema = client.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"] == {
        "HTTPBasic": {"type": "http", "scheme": "basic"},
        "HTTPBearer": {"type": "http", "scheme": "bearer"},
        "HTTPBearer403": {"type": "http", "scheme": "bearer"},
        "APIKeyQuery": {"type": "apiKey", "in": "query", "name": "key"},
        "APIKeyHeader": {"type": "apiKey", "in": "header", "name": "X-Key"},
        "APIKeyCookie": {"type": "apiKey", "in": "cookie", "name": "session"},
        "OpenIdConnect": {"type": "openIdConnect", "openIdConnectUrl": "/conf"},
        "OAuth2PasswordBearer": {
            "type": "oauth2",
            "flows": {
                "password": {
                    "scopes": {"me": "Read me", "items": "Read items"},
                    "tokenUrl": "token",
                }
            },
        },
    }
    assert schema["paths"]["/items"]["get"]["security"] == [{"OAuth2PasswordBearer": ["items"]}]
    assert schema["paths"]["/optional"]["get"]["security"] == [{"HTTPBearer": []}]
