"""examples/sync_db.py: SQLAlchemy's blocking ORM over sqlite3 in def endpoints (worker threads)."""

import json
import sqlite3
from typing import Annotated

import trio

from examples import sync_db
from trioapi import Depends, HTTPException
from trioapi.testclient import TestClient
from trioapi.testing import AsyncTestClient


def test_items_are_created_listed_and_read_from_worker_threads(tmp_path):
    app = sync_db.create_app(f"sqlite:///{tmp_path / 'items.sqlite3'}")
    with TestClient(app) as client:
        created = client.post("/items", json={"name": "hammer", "price": 9.5})
        assert (created.status_code, created.json()) == (
            201,
            {"id": 1, "name": "hammer", "price": 9.5},
        )
        assert client.get("/items/1").json() == {"id": 1, "name": "hammer", "price": 9.5}
        assert client.get("/items").json() == [{"id": 1, "name": "hammer", "price": 9.5}]
        missing = client.get("/items/2")
        assert (missing.status_code, missing.json()) == (404, {"detail": "Item 2 not found"})
        assert client.app_state["engine"].pool.checkedout() == 0


def post_scope(path: str, state: dict) -> dict:
    return {
        "state": dict(state),
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }


async def rows_seen_when_the_response_starts(client, path: str, database: str) -> list:
    """POST an item; the rows another connection sees when the response starts."""
    seen = []
    body = json.dumps({"name": "hammer", "price": 9.5}).encode()
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive():
        if messages:
            return messages.pop(0)
        await trio.sleep_forever()  # the client stays (a request past 50 ms gets a reader task)

    async def send(message):
        if message["type"] == "http.response.start":
            with sqlite3.connect(database) as other:
                seen.extend(other.execute("select name from items").fetchall())

    await client.app(post_scope(path, client.app_state), receive, send)
    return seen


async def test_a_function_scoped_session_commits_before_the_response_is_sent(tmp_path):
    database = str(tmp_path / "items.sqlite3")
    app = sync_db.create_app(f"sqlite:///{database}")

    # The same endpoint with the default scope="request": its commit comes after.
    @app.post("/request-scoped", status_code=201, response_model=sync_db.ItemOut)
    def create_late(
        data: sync_db.ItemIn, session: Annotated[sync_db.Session, Depends(sync_db.get_session)]
    ):
        return sync_db.create(data, session)

    async with AsyncTestClient(app) as client:
        assert await rows_seen_when_the_response_starts(client, "/items", database) == [("hammer",)]
        late = await rows_seen_when_the_response_starts(client, "/request-scoped", database)
    assert late == [("hammer",)]  # only the first row: the second was not committed yet
    with sqlite3.connect(database) as other:
        assert other.execute("select count(*) from items").fetchone() == (2,)


def test_an_endpoint_error_rolls_the_session_back(tmp_path):
    app = sync_db.create_app(f"sqlite:///{tmp_path / 'items.sqlite3'}")

    @app.post("/items/then-fail")
    def create_then_fail(data: sync_db.ItemIn, session: sync_db.SessionDep):
        sync_db.create(data, session)
        raise HTTPException(409, "conflict after the insert")

    with TestClient(app) as client:
        response = client.post("/items/then-fail", json={"name": "hammer", "price": 9.5})
        assert (response.status_code, response.json()) == (
            409,
            {"detail": "conflict after the insert"},
        )
        assert client.get("/items").json() == []
