"""Load check: 2,000 requests, 100 in flight, through a real hypercorn trio worker.

Reports errors (counted by kind, with the index of the first failing
request), missed yield-dependency teardowns and the process RSS before and
after (server and client share the process, so RSS covers both). Not part of
the test suite:

    .venv/bin/python bench/load.py [--requests 2000] [--concurrency 100] [--http2]

The server runs with the configuration ``trioapi run`` gives it, notably no
``keep_alive_max_requests`` limit. ``--keep-alive-max-requests 1000`` shows
hypercorn's own default: over HTTP/2 httpx sends every request on one
connection, and when hypercorn reaches the limit it closes that connection
with the streams in flight unfinished (those requests fail).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections import Counter
from pathlib import Path

import httpx
import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.serving import run_hypercorn  # noqa: E402
from trioapi import Depends, TrioAPI  # noqa: E402
from trioapi.cli import DEFAULT_KEEP_ALIVE_MAX_REQUESTS, NO_REQUEST_LIMIT  # noqa: E402
from trioapi.server import applied_hypercorn_fixes  # noqa: E402


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


def error_kind(error: Exception) -> str:
    """``RemoteProtocolError ConnectionTerminated error_code:1``: the type and the gist, no ids."""
    text = re.sub(r"last_stream_id:\d+|\d{2,}", "N", repr(error))
    return f"{type(error).__name__} {text[:90]}"


def rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


async def run_load(
    requests: int, concurrency: int, http2: bool, server_settings: dict[str, object]
) -> dict[str, object]:
    counters = Counters()
    errors: list[str] = []
    kinds: Counter[str] = Counter()
    failed: list[int] = []
    limiter = trio.Semaphore(concurrency)
    async with run_hypercorn(build_app(counters), **server_settings) as url:
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
                            kinds[f"HTTP {response.status_code}"] += 1
                            failed.append(index)
                    except Exception as error:
                        errors.append(f"{index}: {error!r}")
                        kinds[error_kind(error)] += 1
                        failed.append(index)

            async with trio.open_nursery() as nursery:
                for index in range(requests):
                    nursery.start_soon(one, index)
            elapsed = trio.current_time() - started
            fixes = sorted(applied_hypercorn_fixes())
    request_limit = server_settings.get("keep_alive_max_requests")
    # The server has shut down: every request's teardown must have run.
    return {
        "requests": requests,
        "concurrency": concurrency,
        "http": "2" if http2 else "1.1",
        "keep_alive_max_requests": ("none" if request_limit == NO_REQUEST_LIMIT else request_limit),
        "errors": len(errors),
        "first_failed_request": min(failed) if failed else None,
        "error_kinds": dict(kinds),
        "first_errors": errors[:2],
        "missed_teardowns": counters.setups - counters.teardowns,
        "setups": counters.setups,
        "seconds": round(elapsed, 2),
        "requests_per_second": round(requests / elapsed),
        "rss_mib_before": round(rss_before, 1),
        "rss_mib_after": round(rss_mib(), 1),
        "hypercorn_fixes": fixes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument(
        "--http2", action="store_true", help="HTTP/2 (prior knowledge) instead of 1.1"
    )
    parser.add_argument(
        "--keep-alive-max-requests",
        type=int,
        default=DEFAULT_KEEP_ALIVE_MAX_REQUESTS,
        help="hypercorn's per-connection request limit (0, trioapi run's default: none; "
        "hypercorn's own default is 1000)",
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="repeat to see whether RSS stays flat"
    )
    args = parser.parse_args()
    for _ in range(args.rounds):
        settings: dict[str, object] = {
            "keep_alive_max_requests": args.keep_alive_max_requests or NO_REQUEST_LIMIT
        }
        result = trio.run(run_load, args.requests, args.concurrency, args.http2, settings)
        print(" ".join(f"{key}={value}" for key, value in result.items()))


if __name__ == "__main__":
    main()
