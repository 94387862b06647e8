"""The asyncio bridge's cost: one PostgreSQL read endpoint, served four ways, and one call timed.

    .venv-bench/bin/python bench/asyncio_db.py [--seconds 3] [--clients 8] [--rounds 3]
        [--dsn postgresql://user@host/db]

Needs ``wrk`` (``apt-get install wrk``), the bench virtualenv
(``make bench``: FastAPI, uvicorn, psycopg) and a PostgreSQL server: ``--dsn``,
else a throwaway one started like the tests' (``apt-get install postgresql``).

1. End to end, ``GET /items/{id}`` (one ``select`` by primary key, answered as
   JSON) over HTTP/1.1, loaded by wrk with ``--clients`` connections, from
   a pool of as many connections:

   - trioapi, asyncpg through the bridge (``run_asyncio(pool.fetchrow, ...)``), hypercorn trio worker
   - trioapi, psycopg (blocking) in a ``def`` endpoint, worker threads, hypercorn trio worker
   - trioapi, examples/asyncio_db.py as it is (SQLAlchemy's asyncio ORM on asyncpg, through the bridge)
   - FastAPI, asyncpg on asyncio, uvicorn (and hypercorn's asyncio worker)
   - FastAPI, the same SQLAlchemy read as the example, uvicorn
   - both frameworks answering the same JSON without a database: the floor

   The bridge's cost per request is then (trioapi through the bridge - trioapi
   without a database) - (FastAPI with asyncpg - FastAPI without a database),
   in server CPU per request.

   Each app's best of ``--rounds`` counts; requests per second as wrk saw
   them and per CPU-second of the server process (PostgreSQL's and wrk's
   CPU not counted).
2. One call: the same ``fetchrow``, one at a time, on plain asyncio against
   through the bridge from Trio, and an empty coroutine both ways: the
   bridge's own cost per crossing, in CPU time of the calling process (the
   wall clock of this shared machine moves with its load, the CPU time much
   less; PostgreSQL's CPU is not counted).
"""

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.loadgen import require, wrk  # noqa: E402
from bench.served import server_cpu_seconds, serving  # noqa: E402

QUERY = "select id, name, price from items where id = $1"
ROWS = 1000
DSN_VARIABLE = "BENCH_DSN"
POOL_VARIABLE = "BENCH_POOL"

# name -> (what the server serves, its worker class or "uvicorn")
SERVED = {
    "trioapi, no database (the same JSON)": ("bench.asyncio_db:build_trioapi_plain_app()", "trio"),
    "trioapi + asyncpg through the bridge": ("bench.asyncio_db:build_trioapi_bridge_app()", "trio"),
    "trioapi + psycopg in threads": ("bench.asyncio_db:build_trioapi_threads_app()", "trio"),
    "trioapi + SQLAlchemy asyncio (examples/asyncio_db.py)": ("examples.asyncio_db:app", "trio"),
    "FastAPI + asyncpg, uvicorn": ("bench.asyncio_db:fastapi_app", "uvicorn"),
    "FastAPI + asyncpg, hypercorn asyncio": ("bench.asyncio_db:build_fastapi_app()", "asyncio"),
    "FastAPI + SQLAlchemy asyncio, uvicorn": ("bench.asyncio_db:fastapi_sqlalchemy_app", "uvicorn"),
    "FastAPI, no database (the same JSON), uvicorn": (
        "bench.asyncio_db:fastapi_plain_app",
        "uvicorn",
    ),
}


# -- the apps (built in the server process, from BENCH_DSN) ---------------------------


def pool_size() -> int:
    return int(os.environ.get(POOL_VARIABLE, "8"))


ROW = {"id": 42, "name": "item 41", "price": 4.1}


def build_trioapi_plain_app() -> Any:
    from trioapi import TrioAPI

    app = TrioAPI()

    @app.get("/items/{item_id}")
    async def read(item_id: int) -> dict[str, Any]:
        return ROW

    return app


def build_fastapi_plain_app() -> Any:
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/items/{item_id}")
    async def read(item_id: int) -> dict[str, Any]:
        return ROW

    return app


def build_trioapi_bridge_app() -> Any:
    import asyncpg

    from trioapi import Request, TrioAPI
    from trioapi.asyncio_bridge import run_asyncio

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[dict[str, Any]]:
        size = pool_size()
        dsn = os.environ[DSN_VARIABLE]
        pool = await run_asyncio(asyncpg.create_pool, dsn, min_size=size, max_size=size)
        yield {"pool": pool}
        await run_asyncio(pool.close)

    app = TrioAPI(asyncio_bridge=True, lifespan=lifespan)

    @app.get("/items/{item_id}")
    async def read(item_id: int, request: Request) -> dict[str, Any]:
        return dict(await run_asyncio(request.state.pool.fetchrow, QUERY, item_id))

    return app


def build_fastapi_app() -> Any:
    import asyncpg
    from fastapi import FastAPI, Request

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[dict[str, Any]]:
        size = pool_size()
        pool = await asyncpg.create_pool(os.environ[DSN_VARIABLE], min_size=size, max_size=size)
        yield {"pool": pool}
        await pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/items/{item_id}")
    async def read(item_id: int, request: Request) -> dict[str, Any]:
        return dict(await request.state.pool.fetchrow(QUERY, item_id))

    return app


def build_fastapi_sqlalchemy_app() -> Any:
    """examples/asyncio_db.py's read endpoint, as the same app on FastAPI would have it."""
    from fastapi import Depends, FastAPI, HTTPException, Request
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    from examples.asyncio_db import Item, ItemOut

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[dict[str, Any]]:
        engine = create_async_engine(os.environ["DATABASE_URL"])
        yield {"sessions": async_sessionmaker(engine, expire_on_commit=False)}
        await engine.dispose()

    async def get_session(request: Request) -> AsyncIterator[Any]:
        async with request.state.sessions() as session:
            yield session

    app = FastAPI(lifespan=lifespan)

    @app.get("/items/{item_id}", response_model=ItemOut)
    async def read(item_id: int, session: Any = Depends(get_session)) -> Any:
        item = await session.get(Item, item_id)
        if item is None:
            raise HTTPException(404)
        return item

    return app


class ThreadPool:
    """A fixed set of blocking psycopg connections, lent one per call."""

    def __init__(self, dsn: str, size: int) -> None:
        import queue

        import psycopg

        self.idle: queue.Queue[Any] = queue.Queue()
        for _ in range(size):
            self.idle.put(psycopg.connect(dsn, autocommit=True))

    @contextmanager
    def connection(self) -> Iterator[Any]:
        conn = self.idle.get()
        try:
            yield conn
        finally:
            self.idle.put(conn)

    def close(self) -> None:
        while not self.idle.empty():
            self.idle.get().close()


def build_trioapi_threads_app() -> Any:
    from trioapi import Request, TrioAPI
    from trioapi.concurrency import run_in_threadpool

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[dict[str, Any]]:
        pool = await run_in_threadpool(ThreadPool, os.environ[DSN_VARIABLE], pool_size())
        yield {"pool": pool}
        await run_in_threadpool(pool.close)

    app = TrioAPI(lifespan=lifespan)
    sync_query = QUERY.replace("$1", "%s")

    @app.get("/items/{item_id}")
    def read(item_id: int, request: Request) -> dict[str, Any]:
        with request.state.pool.connection() as conn:
            row = conn.execute(sync_query, (item_id,)).fetchone()
        return {"id": row[0], "name": row[1], "price": row[2]}

    return app


def __getattr__(name: str) -> Any:
    # uvicorn imports "bench.asyncio_db:fastapi_app" by attribute (hypercorn
    # evaluates "build_...()" instead): build the app only when asked for.
    if name == "fastapi_app":
        return build_fastapi_app()
    if name == "fastapi_sqlalchemy_app":
        return build_fastapi_sqlalchemy_app()
    if name == "fastapi_plain_app":
        return build_fastapi_plain_app()
    raise AttributeError(name)


# -- the database --------------------------------------------------------------------


@contextmanager
def database(dsn: str | None) -> Iterator[str]:
    """``dsn`` with the items table filled; a throwaway server's when ``dsn`` is None."""
    if dsn is not None:
        asyncio.run(fill(dsn))
        yield dsn
        return
    from tests.postgres import find_bin_dir, server_user, start_server

    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise SystemExit("No PostgreSQL: pass --dsn, or apt-get install postgresql")
    run_as = server_user()
    root = Path(tempfile.mkdtemp(prefix="trioapi-bench-pg-"))
    if run_as:
        os.chown(root, run_as["user"], run_as["group"])
    try:
        port = start_server(bin_dir, root, run_as)
        dsn = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        asyncio.run(fill(dsn))
        yield dsn
    finally:
        import subprocess

        stop = [str(bin_dir / "pg_ctl"), "-D", str(root / "data"), "-m", "fast", "-w", "stop"]
        subprocess.run(stop, capture_output=True, cwd=root, **run_as)
        shutil.rmtree(root, ignore_errors=True)


async def fill(dsn: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        # The same table examples/asyncio_db.py maps, so it serves these rows too.
        await conn.execute(
            "drop table if exists items;"
            "create table items (id serial primary key, name varchar(100) not null,"
            " price double precision not null)"
        )
        await conn.executemany(
            "insert into items (name, price) values ($1, $2)",
            [(f"item {n}", n / 10) for n in range(ROWS)],
        )
    finally:
        await conn.close()


# -- 1. end to end ---------------------------------------------------------------------


def served_table(dsn: str, seconds: int, clients: int, rounds: int) -> None:
    os.environ[DSN_VARIABLE] = dsn
    os.environ["DATABASE_URL"] = dsn.replace("postgresql://", "postgresql+asyncpg://")
    os.environ[POOL_VARIABLE] = str(clients)
    per_second = dict.fromkeys(SERVED, 0.0)
    per_cpu_second = dict.fromkeys(SERVED, 0.0)
    for _ in range(rounds):
        for name, (target, worker) in SERVED.items():
            with serving(target, worker) as (url, pid):
                target_url = f"{url}/items/42"
                wrk(target_url, seconds=1, connections=clients)  # warm up
                cpu = server_cpu_seconds(pid)
                run = wrk(target_url, seconds=seconds, connections=clients)
                cpu = server_cpu_seconds(pid) - cpu
            per_second[name] = max(per_second[name], run.per_second)
            per_cpu_second[name] = max(per_cpu_second[name], run.requests / max(cpu, 0.01))
    reference = "FastAPI + asyncpg, uvicorn"
    print(
        f"| app and server | req/s | vs {reference} | req per server CPU-s | vs {reference} "
        "| server CPU µs per request |"
    )
    print("|---|---|---|---|---|---|")
    cpu_us = {name: 1e6 / per_cpu_second[name] for name in SERVED}
    for name in SERVED:
        print(
            f"| {name} | {per_second[name]:,.0f} | "
            f"{per_second[name] / per_second[reference]:.2f}x | {per_cpu_second[name]:,.0f} | "
            f"{per_cpu_second[name] / per_cpu_second[reference]:.2f}x | {cpu_us[name]:,.0f} |",
            flush=True,
        )
    through_bridge = cpu_us["trioapi + asyncpg through the bridge"]
    through_bridge -= cpu_us["trioapi, no database (the same JSON)"]
    native = cpu_us[reference] - cpu_us["FastAPI, no database (the same JSON), uvicorn"]
    print(
        f"\nThe database read costs {through_bridge:,.0f} µs of server CPU per request through "
        f"the bridge, {native:,.0f} µs on plain asyncio: the bridge adds "
        f"{through_bridge - native:,.0f} µs per request."
    )


# -- 2. one call -----------------------------------------------------------------------


async def nothing() -> None:
    return None


async def timed_on_asyncio(dsn: str, calls: int) -> tuple[float, float]:
    import asyncpg

    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1)
    try:
        started = time.process_time()
        for _ in range(calls):
            await pool.fetchrow(QUERY, 42)
        query = (time.process_time() - started) / calls
        started = time.process_time()
        for _ in range(calls):
            await nothing()
        empty = (time.process_time() - started) / calls
    finally:
        await pool.close()
    return query, empty


async def timed_through_the_bridge(dsn: str, calls: int) -> tuple[float, float]:
    import asyncpg
    import trio_asyncio

    from trioapi.asyncio_bridge import run_asyncio

    async with trio_asyncio.open_loop():
        pool = await run_asyncio(asyncpg.create_pool, dsn, min_size=1, max_size=1)
        try:
            started = time.process_time()
            for _ in range(calls):
                await run_asyncio(pool.fetchrow, QUERY, 42)
            query = (time.process_time() - started) / calls
            started = time.process_time()
            for _ in range(calls):
                await run_asyncio(nothing)
            empty = (time.process_time() - started) / calls
        finally:
            await run_asyncio(pool.close)
    return query, empty


def one_call_table(dsn: str, calls: int, rounds: int) -> None:
    import trio

    best_native = (float("inf"), float("inf"))
    best_bridge = (float("inf"), float("inf"))
    # Plain asyncio first: importing trio_asyncio patches asyncio's loop look-ups.
    for _ in range(rounds):
        native = asyncio.run(timed_on_asyncio(dsn, calls))
        best_native = (min(best_native[0], native[0]), min(best_native[1], native[1]))
    for _ in range(rounds):
        bridge = trio.run(timed_through_the_bridge, dsn, calls)
        best_bridge = (min(best_bridge[0], bridge[0]), min(best_bridge[1], bridge[1]))
    print(
        "| one call, sequential, CPU µs of the calling process | plain asyncio | through the bridge from Trio | bridge cost |"
    )
    print("|---|---|---|---|")
    for label, index in (("asyncpg fetchrow (one select)", 0), ("empty coroutine", 1)):
        native, bridge = best_native[index] * 1e6, best_bridge[index] * 1e6
        print(f"| {label} | {native:.1f} | {bridge:.1f} | {bridge - native:.1f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=3, help="per app and round")
    parser.add_argument("--clients", type=int, default=8, help="connections (and pool size)")
    parser.add_argument("--rounds", type=int, default=3, help="the best round counts")
    parser.add_argument("--calls", type=int, default=2000, help="sequential calls, part 2")
    parser.add_argument("--dsn", help="a PostgreSQL to use (its items table is replaced)")
    args = parser.parse_args()
    require("wrk")
    with database(args.dsn) as dsn:
        one_call_table(dsn, args.calls, args.rounds)
        print()
        served_table(dsn, args.seconds, args.clients, args.rounds)


if __name__ == "__main__":
    main()
