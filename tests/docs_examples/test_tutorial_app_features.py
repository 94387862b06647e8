"""docs/tutorial: security, errors, background tasks, middleware."""

import trio

from docs_src.tutorial import background_tasks, handling_errors, middleware, security
from trioapi.testclient import TestClient
from trioapi.testing import AsyncTestClient


def test_password_login_gives_a_jwt_that_opens_users_me():
    client = TestClient(security.app)
    login = client.post("/token", data={"username": "alice", "password": "wonderland"})
    assert login.status_code == 200
    assert login.json()["token_type"] == "bearer"
    token = login.json()["access_token"]
    me = client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json() == {"username": "alice", "full_name": "Alice Liddell"}


def test_wrong_password_missing_and_forged_tokens_are_refused():
    client = TestClient(security.app)
    wrong = client.post("/token", data={"username": "alice", "password": "looking-glass"})
    assert (wrong.status_code, wrong.json()) == (400, {"detail": "Incorrect username or password"})
    missing = client.get("/users/me")
    assert (missing.status_code, missing.headers["www-authenticate"]) == (401, "Bearer")
    forged = client.get("/users/me", headers={"Authorization": "Bearer not.a.jwt"})
    assert forged.json() == {"detail": "Could not validate credentials"}


def test_errors_reach_their_handlers():
    client = TestClient(handling_errors.app)
    ghost = client.get("/items/ghost")
    assert (ghost.status_code, ghost.json(), ghost.headers["x-error"]) == (
        404,
        {"detail": "Item not found"},
        "ghost",
    )
    widget = client.get("/items/widget")
    assert (widget.status_code, widget.json()) == (409, {"detail": "widget is out of stock"})
    invalid = client.get("/items/saw?quantity=many")
    assert (invalid.status_code, invalid.text) == (400, "Invalid request: 1 error(s)")


def test_an_error_from_a_nursery_reaches_the_handler_for_its_type():
    response = TestClient(handling_errors.app).get("/restock/bolt")
    assert (response.status_code, response.json()) == (409, {"detail": "bolt is out of stock"})


def test_background_tasks_run_after_the_response():
    background_tasks.log.clear()
    response = TestClient(background_tasks.app).post("/send-notification/ann@example.com")
    assert response.json() == {"message": "Notification sent in the background"}
    assert background_tasks.log == ["notification for ann@example.com", "notified ann@example.com"]


async def test_app_nursery_work_outlives_the_request_and_stops_at_shutdown(autojump_clock):
    background_tasks.log.clear()
    async with AsyncTestClient(background_tasks.app) as client:
        response = await client.post("/reindex")
        assert response.status_code == 202
        await trio.sleep(31)
        assert background_tasks.log == ["index rebuilt"]
        await client.post("/reindex")
    # shutdown cancelled the second rebuild
    assert background_tasks.log == ["index rebuilt"]


async def test_middleware_times_the_request_and_cors_answers_preflight(autojump_clock):
    async with AsyncTestClient(middleware.app) as client:
        response = await client.get("/")
        preflight = await client.options(
            "/",
            headers={
                "Origin": "https://app.example.com",
                "Access-Control-Request-Method": "POST",
            },
        )
    assert response.headers["x-process-time"] == "0.250"
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://app.example.com"
