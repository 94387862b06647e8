"""Load check: 2,000 requests, 100 in flight, through a real hypercorn trio worker.

Reports errors, missed yield-dependency teardowns and the process RSS before
and after (server and client share the process, so RSS covers both). Not
part of the test suite:

    .venv/bin/python bench/load.py [--requests 2000] [--concurrency 100] [--http2]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import httpx
import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.serving import run_hypercorn  # noqa: E402
from trioapi import Depends, TrioAPI  # noqa: E402
from trioapi._server import is_hypercorn_patched  # noqa: E402


class Counters:
    def __init__(self) -> None:
        self.setups = 0
        self.teardowns = 0


def build_app(counters: Counters) -> TrioAPI:
    app = TrioAPI()

    async def resource():
        counters.setups += 1
        try:
            yield "resource"
        finally:
            counters.teardowns += 1

    @app.get("/items/{item_id}")
    async def read_item(item_id: int, value: str = Depends(resource)):
        await trio.sleep(0)
        return {"item_id": item_id, "value": value}

    @app.post("/items")
    async def create_item(payload: dict[str, int], value: str = Depends(resource)):
        return {"count": len(payload)}

    return app


def rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


async def run_load(requests: int, concurrency: int, http2: bool) -> dict[str, object]:
    counters = Counters()
    errors: list[str] = []
    limiter = trio.Semaphore(concurrency)
    async with run_hypercorn(build_app(counters)) as url:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(
            base_url=url, limits=limits, http1=not http2, http2=http2, timeout=30
        ) as client:
            await client.get("/items/0")  # warm up: imports, first-call builds
            rss_before = rss_mib()
            started = trio.current_time()

            async def one(index: int) -> None:
                async with limiter:
                    try:
                        if index % 2:
                            response = await client.get(f"/items/{index}")
                            expected = {"item_id": index, "value": "resource"}
                        else:
                            response = await client.post("/items", json={"a": 1, "b": 2})
                            expected = {"count": 2}
                        if response.status_code != 200 or response.json() != expected:
                            errors.append(f"{index}: {response.status_code} {response.text[:80]}")
                    except Exception as error:
                        errors.append(f"{index}: {error!r}")

            async with trio.open_nursery() as nursery:
                for index in range(requests):
                    nursery.start_soon(one, index)
            elapsed = trio.current_time() - started
            patched = is_hypercorn_patched()
    # The server has shut down: every request's teardown must have run.
    return {
        "requests": requests,
        "concurrency": concurrency,
        "http": "2" if http2 else "1.1",
        "errors": len(errors),
        "first_errors": errors[:3],
        "missed_teardowns": counters.setups - counters.teardowns,
        "setups": counters.setups,
        "seconds": round(elapsed, 2),
        "requests_per_second": round(requests / elapsed),
        "rss_mib_before": round(rss_before, 1),
        "rss_mib_after": round(rss_mib(), 1),
        "hypercorn_patched": patched,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--http2", action="store_true", help="HTTP/2 (prior knowledge) instead of 1.1")
    parser.add_argument("--rounds", type=int, default=1, help="repeat to see whether RSS stays flat")
    args = parser.parse_args()
    for _ in range(args.rounds):
        result = trio.run(run_load, args.requests, args.concurrency, args.http2)
        print(" ".join(f"{key}={value}" for key, value in result.items()))


if __name__ == "__main__":
    main()
