"""examples/asyncio_db.py: CRUD on SQLAlchemy's asyncio extension, through the asyncio bridge.

Every test runs on SQLite (aiosqlite); the ``postgresql`` ones also on a
throwaway PostgreSQL server (asyncpg), and skip with the reason when its
binaries are not installed (see tests/postgres.py).
"""

import itertools
from contextlib import asynccontextmanager
from typing import Annotated

import asyncpg
import httpx
import pytest
import trio
from sqlalchemy import text

from examples import asyncio_db
from tests.postgres import PostgresServer, postgres  # noqa: F401  (the fixture)
from tests.serving import run_hypercorn
from trioapi import Depends, Request, TrioAPI
from trioapi.asyncio_bridge import run_asyncio
from trioapi.testclient import TestClient
from trioapi.testing import AsyncTestClient

_databases = itertools.count()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'items.sqlite3'}"
    server = request.getfixturevalue("postgres")
    return server.create_database(f"items_{next(_databases)}")


async def test_items_can_be_created_read_listed_updated_and_deleted(database_url):
    app = asyncio_db.create_app(database_url)
    async with AsyncTestClient(app) as client:
        created = await client.post("/items", json={"name": "hammer", "price": 9.5})
        assert (created.status_code, created.json()) == (
            201,
            {"id": 1, "name": "hammer", "price": 9.5},
        )
        await client.post("/items", json={"name": "saw", "price": 20})
        assert (await client.get("/items/1")).json() == {"id": 1, "name": "hammer", "price": 9.5}
        listed = await client.get("/items", params={"offset": 1})
        assert listed.json() == [{"id": 2, "name": "saw", "price": 20.0}]
        patched = await client.patch("/items/1", json={"price": 11})
        assert patched.json() == {"id": 1, "name": "hammer", "price": 11.0}
        deleted = await client.delete("/items/1")
        assert (deleted.status_code, deleted.content) == (204, b"")
        missing = await client.get("/items/1")
        assert (missing.status_code, missing.json()) == (404, {"detail": "Item 1 not found"})
        assert [item["name"] for item in (await client.get("/items")).json()] == ["saw"]
        engine = client.app_state["engine"]
        assert engine.pool.checkedout() == 0  # every session gave its connection back


async def test_invalid_input_is_a_422_and_nothing_is_written(database_url):
    app = asyncio_db.create_app(database_url)
    async with AsyncTestClient(app) as client:
        response = await client.post("/items", json={"name": "", "price": -1})
        assert response.status_code == 422
        assert [error["loc"] for error in response.json()["detail"]] == [
            ["body", "name"],
            ["body", "price"],
        ]
        assert (await client.get("/items")).json() == []


async def test_an_error_after_a_change_rolls_it_back_when_the_session_closes(database_url):
    app = asyncio_db.create_app(database_url)

    @app.post("/items/{item_id}/broken-rename")
    async def broken_rename(item: asyncio_db.ItemDep, session: asyncio_db.SessionDep):
        item.name = "renamed"
        await run_asyncio(session.flush)  # sent to the database, never committed
        raise RuntimeError("failed after the write")

    async with AsyncTestClient(app, raise_server_exceptions=False) as client:
        await client.post("/items", json={"name": "hammer", "price": 9.5})
        assert (await client.post("/items/1/broken-rename")).status_code == 500
        assert (await client.get("/items/1")).json()["name"] == "hammer"
        assert client.app_state["engine"].pool.checkedout() == 0


def test_the_blocking_test_client_runs_it_too(tmp_path):
    app = asyncio_db.create_app(f"sqlite+aiosqlite:///{tmp_path / 'items.sqlite3'}")
    with TestClient(app) as client:
        assert client.post("/items", json={"name": "nail", "price": 0.1}).status_code == 201
        assert client.get("/items").json() == [{"id": 1, "name": "nail", "price": 0.1}]


async def test_served_by_hypercorn(tmp_path):
    app = asyncio_db.create_app(f"sqlite+aiosqlite:///{tmp_path / 'items.sqlite3'}")
    async with run_hypercorn(app) as url:
        async with httpx.AsyncClient(base_url=url) as client:
            created = await client.post("/items", json={"name": "nail", "price": 0.1})
            read = await client.get("/items/1")
    assert created.status_code == 201
    assert read.json() == {"id": 1, "name": "nail", "price": 0.1}


SLEEPING = (
    "select pid from pg_stat_activity where state = 'active'"
    " and query like '%pg_sleep%' and pid <> pg_backend_pid()"
)
CANCELLED = "canceling statement due to user request"


async def wait_for(predicate, timeout: float = 10) -> None:
    with trio.fail_after(timeout):
        while not await trio.to_thread.run_sync(predicate):
            await trio.sleep(0.05)


async def disconnect_during_pg_sleep(url: str, server: PostgresServer) -> str:
    """GET /sleep (60 s of pg_sleep), go away once it runs; returns the backend's pid.

    Returns once the query has stopped on the server, which a cancel request
    does at once (a closed socket alone is not noticed by pg_sleep).
    """
    host, port = url.removeprefix("http://").rsplit(":", 1)
    stream = await trio.open_tcp_stream(host, int(port))
    await stream.send_all(b"GET /sleep?seconds=60 HTTP/1.1\r\nHost: a\r\n\r\n")
    await wait_for(lambda: server.sql(SLEEPING) != "")
    pid = server.sql(SLEEPING)
    await stream.aclose()
    await wait_for(lambda: server.sql(SLEEPING) == "", timeout=5)
    return pid


def backend_state(server: PostgresServer, pid: str) -> str:
    return server.sql(f"select coalesce(state, '') from pg_stat_activity where pid = {pid}")


async def test_postgresql_client_gone_during_pg_sleep_cancels_the_query_on_the_server(
    postgres: PostgresServer,  # noqa: F811
):
    app = asyncio_db.create_app(postgres.create_database("sleepy"), pool_size=1, max_overflow=0)

    @app.get("/sleep")
    async def sleep(session: asyncio_db.SessionDep, seconds: float):
        await run_asyncio(session.execute, text("select pg_sleep(:s)"), {"s": seconds})
        return "slept"

    @app.get("/pool")
    async def pool(request: asyncio_db.Request):
        return request.state.engine.pool.checkedout()

    async with run_hypercorn(app) as url:
        pid = await disconnect_during_pg_sleep(url, postgres)
        async with httpx.AsyncClient(base_url=url) as client:
            # The query stops on the server before the request's teardown has
            # put the connection back, so the pool is polled, with a bound.
            with trio.fail_after(10):
                while (await client.get("/pool")).json() != 0:
                    await trio.sleep(0.05)
            # The pool's one slot is free again and serves the next requests.
            assert (await client.get("/items")).json() == []
            assert (await client.get("/sleep", params={"seconds": 0})).json() == "slept"
            # SQLAlchemy invalidates a connection whose query was cancelled (it
            # cannot know its state), so the pool opened a fresh one.
            assert backend_state(postgres, pid) == ""
    assert CANCELLED in postgres.log_text()


def build_asyncpg_app(dsn: str) -> TrioAPI:
    """The same endpoint on a bare asyncpg pool of one connection."""

    @asynccontextmanager
    async def lifespan(app):
        pool = await run_asyncio(asyncpg.create_pool, dsn, min_size=1, max_size=1)
        yield {"pool": pool}
        await run_asyncio(pool.close)

    app = TrioAPI(asyncio_bridge=True, lifespan=lifespan)

    async def connection(request: Request):
        conn = await run_asyncio(request.state.pool.acquire)
        try:
            yield conn
        finally:
            await run_asyncio(request.state.pool.release, conn)

    @app.get("/sleep")
    async def sleep(conn: Annotated[asyncpg.Connection, Depends(connection)], seconds: float):
        await run_asyncio(conn.execute, "select pg_sleep($1)", seconds)
        return await run_asyncio(conn.fetchval, "select pg_backend_pid()")

    @app.get("/idle")
    async def idle(request: Request):
        return request.state.pool.get_idle_size()

    return app


async def test_postgresql_client_gone_during_pg_sleep_puts_the_asyncpg_connection_back(
    postgres: PostgresServer,  # noqa: F811
):
    dsn = postgres.create_database("sleepy_asyncpg").replace("+asyncpg", "")
    async with run_hypercorn(build_asyncpg_app(dsn)) as url:
        pid = await disconnect_during_pg_sleep(url, postgres)
        async with httpx.AsyncClient(base_url=url) as client:
            # The teardown that releases the connection runs after the client
            # has gone, and under load it may not have run yet: poll, with a bound.
            with trio.fail_after(10):
                while (await client.get("/idle")).json() != 1:  # back in the pool
                    await trio.sleep(0.05)
            # The same server connection (same backend pid) serves the next request.
            assert (await client.get("/sleep", params={"seconds": 0})).json() == int(pid)
        assert backend_state(postgres, pid) == "idle"
    assert CANCELLED in postgres.log_text()
