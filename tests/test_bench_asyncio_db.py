"""bench/asyncio_db.py's trioapi apps still answer what the benchmark asks (FastAPI is not here)."""

import asyncio

from bench.asyncio_db import ROW, build_trioapi_bridge_app, build_trioapi_plain_app, fill
from tests.postgres import PostgresServer, postgres  # noqa: F401  (the fixture)
from trioapi.testclient import TestClient


def test_the_floor_app_answers_the_row_the_database_holds():
    with TestClient(build_trioapi_plain_app()) as client:
        assert client.get("/items/42").json() == ROW


def test_the_bridge_app_reads_the_row_from_postgresql(postgres: PostgresServer, monkeypatch):  # noqa: F811
    dsn = postgres.create_database("bench").replace("postgresql+asyncpg", "postgresql")
    asyncio.run(fill(dsn))
    monkeypatch.setenv("BENCH_DSN", dsn)
    monkeypatch.setenv("BENCH_POOL", "2")
    with TestClient(build_trioapi_bridge_app()) as client:
        assert client.get("/items/42").json() == ROW
