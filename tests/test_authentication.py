from __future__ import annotations

import base64

import httpx
import pytest

from tests.serving import run_hypercorn
from trioapi import TrioAPI
from trioapi.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    AuthenticationError,
    SimpleUser,
    UnauthenticatedUser,
    has_required_scope,
    requires,
)
from trioapi.exceptions import TrioAPIError
from trioapi.middleware.authentication import AuthenticationMiddleware
from trioapi.middleware.exceptions import ExceptionMiddleware
from trioapi.requests import HTTPConnection, Request
from trioapi.responses import JSONResponse, PlainTextResponse
from trioapi.routing import Route, Router, WebSocketRoute
from trioapi.testclient import TestClient
from trioapi.websockets import WebSocket, WebSocketDisconnect


class TokenBackend(AuthenticationBackend):
    """``Authorization: Token <name>:<scope,scope>``; ``Token bad`` is an error."""

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, SimpleUser] | None:
        header = conn.headers.get("authorization")
        if header is None:
            return None
        if header == "Token bad":
            raise AuthenticationError("Invalid token")
        name, _, scopes = header.removeprefix("Token ").partition(":")
        return AuthCredentials(scopes.split(",")), SimpleUser(name)


def whoami(request: Request) -> JSONResponse:
    user = request.user
    return JSONResponse(
        {
            "name": user.display_name,
            "id": user.identity,
            "in": user.is_authenticated,
            "scopes": request.auth.scopes,
        }
    )


@requires("admin")
async def admin(request: Request) -> PlainTextResponse:
    return PlainTextResponse(f"hello {request.user.username}")


@requires(["admin", "write"], status_code=404)
def admin_write(request: Request) -> PlainTextResponse:
    return PlainTextResponse("written")


@requires("admin", redirect="login")
async def admin_or_login(request: Request) -> PlainTextResponse:
    return PlainTextResponse("in")


def login(request: Request) -> PlainTextResponse:
    return PlainTextResponse("please log in")


@requires("chat")
async def chat(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(websocket.user.display_name)
    await websocket.close()


def build_app() -> AuthenticationMiddleware:
    router = Router(
        routes=[
            Route("/me", whoami),
            Route("/admin", admin),
            Route("/write", admin_write),
            Route("/guarded", admin_or_login),
            Route("/login", login, name="login"),
            WebSocketRoute("/chat", chat),
        ]
    )
    # ExceptionMiddleware turns @requires' HTTPException into its 403.
    return AuthenticationMiddleware(ExceptionMiddleware(router), backend=TokenBackend())


def test_anonymous_caller_gets_an_unauthenticated_user_and_no_scopes():
    response = TestClient(build_app()).get("/me")

    assert response.json() == {"name": "", "id": "", "in": False, "scopes": []}


def test_backend_result_becomes_request_user_and_auth():
    response = TestClient(build_app()).get("/me", headers={"Authorization": "Token ann:read,write"})

    assert response.json() == {"name": "ann", "id": "ann", "in": True, "scopes": ["read", "write"]}


def test_authentication_error_is_a_plain_text_400_by_default():
    response = TestClient(build_app()).get("/me", headers={"Authorization": "Token bad"})

    assert (response.status_code, response.text) == (400, "Invalid token")


def test_on_error_builds_the_refusal():
    def on_error(conn: HTTPConnection, exc: AuthenticationError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=401)

    app = AuthenticationMiddleware(
        Router(routes=[Route("/me", whoami)]), TokenBackend(), on_error=on_error
    )

    response = TestClient(app).get("/me", headers={"Authorization": "Token bad"})

    assert (response.status_code, response.json()) == (401, {"error": "Invalid token"})


def test_requires_refuses_with_403_or_the_given_status():
    client = TestClient(build_app())

    assert client.get("/admin").status_code == 403
    assert client.get("/admin", headers={"Authorization": "Token ann:admin"}).text == "hello ann"
    assert client.get("/write", headers={"Authorization": "Token ann:admin"}).status_code == 404
    assert (
        client.get("/write", headers={"Authorization": "Token ann:admin,write"}).text == "written"
    )


def test_requires_with_redirect_sends_to_the_named_route_with_next():
    response = TestClient(build_app(), follow_redirects=False).get("/guarded?x=1")

    assert response.status_code == 303
    assert (
        response.headers["location"]
        == "http://testserver/login?next=http%3A%2F%2Ftestserver%2Fguarded%3Fx%3D1"
    )


def test_requires_closes_a_websocket_without_the_scope():
    client = TestClient(build_app())

    with pytest.raises(WebSocketDisconnect), client.websocket_connect("/chat"):
        pass
    with client.websocket_connect("/chat", headers={"Authorization": "Token bo:chat"}) as ws:
        assert ws.receive_text() == "bo"


def test_authentication_error_closes_a_websocket():
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        TestClient(build_app()).websocket_connect("/chat", headers={"Authorization": "Token bad"}),
    ):
        pass

    assert closed.value.code == 1000


def test_requires_needs_a_request_or_websocket_parameter():
    with pytest.raises(TrioAPIError, match='No "request" or "websocket" argument on function'):

        @requires("x")
        def no_request(conn: Request) -> None: ...


def test_has_required_scope_needs_every_scope():
    scope = {"type": "http", "auth": AuthCredentials(["a", "b"]), "headers": []}

    assert has_required_scope(HTTPConnection(scope), ["a", "b"])
    assert not has_required_scope(HTTPConnection(scope), ["a", "c"])
    assert UnauthenticatedUser().is_authenticated is False


def test_requires_works_on_trioapi_routes_too():
    app = TrioAPI()
    app.add_middleware(AuthenticationMiddleware, backend=TokenBackend())

    @app.get("/secret")
    @requires("admin")
    async def secret(request: Request) -> dict[str, str]:
        return {"user": request.user.username}

    client = TestClient(app)

    assert client.get("/secret").status_code == 403
    assert client.get("/secret", headers={"Authorization": "Token zoe:admin"}).json() == {
        "user": "zoe"
    }


async def test_authentication_through_hypercorn():
    async with run_hypercorn(build_app()) as url, httpx.AsyncClient(base_url=url) as client:
        anonymous = await client.get("/admin")
        admin_ok = await client.get("/admin", headers={"Authorization": "Token ann:admin"})
        broken = await client.get("/me", headers={"Authorization": "Token bad"})
        basic = base64.b64encode(b"x:y").decode()
        odd = await client.get("/me", headers={"Authorization": f"Token {basic}"})

    assert anonymous.status_code == 403
    assert (admin_ok.status_code, admin_ok.text) == (200, "hello ann")
    assert (broken.status_code, broken.text) == (400, "Invalid token")
    assert odd.json()["in"] is True
