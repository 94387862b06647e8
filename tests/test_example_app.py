"""examples/app.py, the app `make run` serves: every route, with both test clients."""

import json
import logging

import pytest
import trio

from examples import app as example
from trioapi.testclient import TestClient
from trioapi.testing import AsyncTestClient

ANN = {"username": "ann", "password": "correct horse", "full_name": "Ann Example"}
BOB = {"username": "bob", "password": "battery staple"}


@pytest.fixture(autouse=True)
def fresh_database(tmp_path, monkeypatch):
    monkeypatch.setenv("NOTES_DATABASE", str(tmp_path / "notes.db"))


def sign_up_and_log_in(client, user) -> dict[str, str]:
    assert client.post("/users", json=user).status_code == 201
    login = client.post("/token", data={"username": user["username"], "password": user["password"]})
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


def events(text: str) -> list[dict]:
    found = []
    for block in text.strip().split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in block.splitlines() if not line.startswith(":")
        )
        found.append(
            {"event": fields["event"], "id": fields["id"], "data": json.loads(fields["data"])}
        )
    return found


def test_public_routes():
    with TestClient(example.app) as client:
        assert client.get("/").json() == {"message": "Hello from trioapi", "docs": "/docs"}
        assert client.get("/health").json() == {"status": "ok"}
        created = client.post("/notes", json={"title": "hello"})
        assert (created.status_code, created.json()) == (
            201,
            {"title": "hello", "body": "", "id": 1},
        )
        assert client.get("/notes").json() == [{"title": "hello", "body": "", "id": 1}]
        assert client.get("/notes/1").json()["title"] == "hello"
        assert client.get("/notes/2").json() == {"detail": "Note not found"}
        assert client.get("/countdown?start=2").text == "2\n1\n0\n"
        assert client.get("/countdown?start=101").status_code == 422


def test_sign_up_log_in_and_me(caplog):
    caplog.set_level(logging.INFO, logger="examples.app")
    with TestClient(example.app) as client:
        created = client.post("/users", json=ANN)
        assert (created.status_code, created.json()) == (
            201,
            {"id": 1, "username": "ann", "full_name": "Ann Example"},
        )
        assert "welcome, ann" in caplog.messages  # the background task ran
        taken = client.post("/users", json=ANN)
        assert (taken.status_code, taken.json()) == (409, {"detail": "Username already taken"})
        assert client.post("/users", json={"username": "A!", "password": "x"}).status_code == 422
        wrong = client.post("/token", data={"username": "ann", "password": "wrong password"})
        assert (wrong.status_code, wrong.json()) == (
            400,
            {"detail": "Incorrect username or password"},
        )
        unknown = client.post("/token", data={"username": "zed", "password": "whatever1"})
        assert unknown.status_code == 400
        login = client.post("/token", data={"username": "ann", "password": "correct horse"})
        assert login.json()["token_type"] == "bearer"
        me = client.get(
            "/users/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"}
        )
        assert me.json() == {"id": 1, "username": "ann", "full_name": "Ann Example"}
        anonymous = client.get("/users/me")
        assert (anonymous.status_code, anonymous.headers["www-authenticate"]) == (401, "Bearer")
        forged = client.get("/users/me", headers={"Authorization": "Bearer x.y.z"})
        assert forged.json() == {"detail": "Could not validate credentials"}


def test_items_pagination_ownership_and_attachments():
    with TestClient(example.app) as client:
        ann = sign_up_and_log_in(client, ANN)
        bob = sign_up_and_log_in(client, BOB)
        for number in range(1, 6):
            created = client.post("/items", json={"title": f"item {number}"}, headers=ann)
            assert created.status_code == 201
        assert created.json() == {"id": 5, "owner_id": 1, "title": "item 5", "description": ""}
        page = client.get("/items?skip=1&limit=2", headers=ann).json()
        assert (page["total"], page["skip"], page["limit"]) == (5, 1, 2)
        assert [item["id"] for item in page["items"]] == [2, 3]
        assert client.get("/items", headers=bob).json()["total"] == 0
        assert client.get("/items?limit=101", headers=ann).status_code == 422
        assert client.get("/items").status_code == 401
        assert client.get("/items/2", headers=ann).json()["title"] == "item 2"
        assert client.get("/items/2", headers=bob).json() == {"detail": "Item not found"}

        upload = client.put(
            "/items/2/attachment",
            files={"file": ("../notes.txt", b"hello file", "text/plain")},
            headers=ann,
        )
        assert (upload.status_code, upload.json()) == (
            201,
            {"filename": "notes.txt", "content_type": "text/plain", "size": 10},
        )
        download = client.get("/items/2/attachment", headers=ann)
        assert download.content == b"hello file"
        assert download.headers["content-disposition"] == 'attachment; filename="notes.txt"'
        assert client.get("/items/3/attachment", headers=ann).json() == {"detail": "No attachment"}
        assert client.get("/items/2/attachment", headers=bob).status_code == 404

        assert client.delete("/items/2", headers=bob).status_code == 404
        assert client.delete("/items/2", headers=ann).status_code == 204
        assert client.get("/items/2", headers=ann).status_code == 404


def test_an_attachment_over_the_limit_is_413():
    with TestClient(example.app) as client:
        ann = sign_up_and_log_in(client, ANN)
        client.post("/items", json={"title": "big"}, headers=ann)
        too_big = b"x" * (example.MAX_ATTACHMENT + 1)
        response = client.put(
            "/items/1/attachment", files={"file": ("a.bin", too_big)}, headers=ann
        )
    assert response.status_code == 413


def test_feed_catches_up_and_summary_answers():
    with TestClient(example.app) as client:
        ann = sign_up_and_log_in(client, ANN)
        for title in ("one", "two", "three"):
            client.post("/items", json={"title": title}, headers=ann)
        feed = client.get("/feed?after=1&count=2", headers=ann)
        assert feed.headers["content-type"].startswith("text/event-stream")
        assert [(e["id"], e["data"]["title"]) for e in events(feed.text)] == [
            ("2", "two"),
            ("3", "three"),
        ]
        assert client.get("/feed").status_code == 401
        summary = client.get("/reports/summary", headers=ann)
        assert summary.json() == {"username": "ann", "items": 3, "attachments": 0}


async def test_every_route_through_the_async_client():
    async with AsyncTestClient(example.app) as client:
        assert (await client.get("/")).json()["message"] == "Hello from trioapi"
        assert (await client.get("/health")).status_code == 200
        assert (await client.post("/notes", json={"title": "n"})).status_code == 201
        assert len((await client.get("/notes")).json()) == 1
        assert (await client.get("/notes/1")).status_code == 200
        assert (await client.get("/countdown?start=1")).text == "1\n0\n"
        assert (await client.post("/users", json=ANN)).status_code == 201
        login = await client.post("/token", data={"username": "ann", "password": "correct horse"})
        ann = {"Authorization": f"Bearer {login.json()['access_token']}"}
        assert (await client.get("/users/me", headers=ann)).json()["username"] == "ann"
        item = (await client.post("/items", json={"title": "async"}, headers=ann)).json()
        assert (await client.get("/items", headers=ann)).json()["total"] == 1
        assert (await client.get(f"/items/{item['id']}", headers=ann)).json() == item
        files = {"file": ("a.txt", b"abc", "text/plain")}
        assert (
            await client.put("/items/1/attachment", files=files, headers=ann)
        ).status_code == 201
        assert (await client.get("/items/1/attachment", headers=ann)).content == b"abc"
        summary = (await client.get("/reports/summary", headers=ann)).json()
        assert (summary["items"], summary["attachments"]) == (1, 1)
        assert (await client.delete("/items/1", headers=ann)).status_code == 204


async def test_the_feed_streams_items_as_they_are_created():
    async with AsyncTestClient(example.app) as client:
        assert (await client.post("/users", json=ANN)).status_code == 201
        login = await client.post("/token", data={"username": "ann", "password": "correct horse"})
        ann = {"Authorization": f"Bearer {login.json()['access_token']}"}
        received = []
        async with client.stream("GET", "/feed?count=2", headers=ann) as feed:
            lines = feed.aiter_lines()
            await client.post("/items", json={"title": "first"}, headers=ann)
            await client.post("/items", json={"title": "second"}, headers=ann)
            async for line in lines:
                if line.startswith("data: "):
                    received.append(json.loads(line[6:])["title"])
    assert received == ["first", "second"]


async def no_database():
    yield None


async def test_a_slow_report_is_cut_off_by_its_deadline(autojump_clock):
    # No worker threads here (the mock clock would jump while one runs): the
    # user and the database are replaced, the slow upstream is trio.sleep.
    async def ann() -> example.User:
        return example.User(id=1, username="ann", full_name="")

    example.app.dependency_overrides.update(
        {example.current_user: ann, example.get_db: no_database}
    )
    try:
        async with AsyncTestClient(example.app, lifespan=False) as client:
            start = trio.current_time()
            late = await client.get("/reports/summary?upstream_delay=5")
    finally:
        example.app.dependency_overrides.clear()
    assert (late.status_code, late.json()) == (504, {"detail": "Gateway Timeout"})
    assert trio.current_time() - start == 2


def test_ids_and_offsets_beyond_sqlites_integers_are_422_not_500():
    # Found by `make schemathesis`: a 2**64 offset reached SQLite and raised OverflowError.
    with TestClient(example.app) as client:
        ann = sign_up_and_log_in(client, ANN)
        too_big = str(2**64)
        for path in (f"/items?skip={too_big}", f"/items/{too_big}", f"/feed?after={too_big}"):
            response = client.get(path, headers=ann)
            assert response.status_code == 422, path
            assert response.json()["detail"][0]["type"] == "less_than_equal"
        assert client.get(f"/items?skip={2**63 - 1}", headers=ann).json()["items"] == []
