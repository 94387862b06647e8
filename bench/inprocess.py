"""In-process benchmark: call each app's ASGI entry directly under Trio, same requests.

    make bench                                   (sets up .venv-bench with FastAPI)
    .venv-bench/bin/python bench/inprocess.py [--seconds 0.5] [--repeats 3]

Each framework app runs its lifespan around the measurement, as under a
server. For each scenario of ``bench.apps.SCENARIOS`` it measures requests/second of
the bare ASGI app, trioapi and FastAPI 0.163 running on Trio (through anyio),
alternating the apps ``--repeats`` times and keeping each one's best run, and
prints a Markdown table of the ratios (requests per CPU-second, see ``rate``). Only ratios from one run on one machine
mean anything: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.apps import SCENARIOS, bare_app, build_framework_app  # noqa: E402

Request = tuple[str, str, bytes, list[tuple[bytes, bytes]], bytes]


def make_scope(request: Request) -> dict[str, Any]:
    method, path, query, extra_headers, body = request
    headers = [(b"host", b"bench"), *extra_headers]
    if body:
        headers.append((b"content-length", str(len(body)).encode()))
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query,
        "root_path": "", "headers": headers, "client": ("127.0.0.1", 1), "server": ("bench", 80),
    }


async def call(app: Any, request: Request) -> tuple[int, bytes]:
    """One request as a server would make it; returns the status and the body."""
    sent: list[dict[str, Any]] = []
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": request[4], "more_body": False}
        await trio.sleep_forever()  # a server's receive blocks until the client leaves
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(make_scope(request), receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body


async def rate(app: Any, request: Request, seconds: float) -> float:
    """Requests per CPU-second over about ``seconds`` of back-to-back calls.

    CPU time of this process, not wall time: the calls never wait on I/O, so
    the two agree on an idle machine, and on a busy shared one CPU time does
    not count the time other processes held the core.
    """
    done = 0
    start = time.process_time()
    deadline = start + seconds
    while True:
        for _ in range(50):
            await call(app, request)
        done += 50
        now = time.process_time()
        if now >= deadline:
            return done / (now - start)


@asynccontextmanager
async def running_lifespan(app: Any) -> AsyncIterator[None]:
    """Run ``app``'s lifespan around the block, as a server does."""
    to_app, app_inbox = trio.open_memory_channel[dict[str, Any]](1)
    to_server, server_inbox = trio.open_memory_channel[dict[str, Any]](1)
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    async with trio.open_nursery() as nursery:
        nursery.start_soon(app, scope, app_inbox.receive, to_server.send)
        await to_app.send({"type": "lifespan.startup"})
        started = await server_inbox.receive()
        if started["type"] != "lifespan.startup.complete":
            raise SystemExit(f"lifespan startup failed: {started}")
        yield
        await to_app.send({"type": "lifespan.shutdown"})
        await server_inbox.receive()


async def main(seconds: float, repeats: int) -> None:
    apps: dict[str, Any] = {"bare ASGI": bare_app, "trioapi": build_framework_app("trioapi")}
    try:
        apps["FastAPI on trio"] = build_framework_app("fastapi")
    except ImportError:
        print("fastapi is not installed here: run `make bench` to measure against it\n")
    print(f"Python {sys.version.split()[0]}, trio {trio.__version__}, {seconds}s x {repeats}\n")
    header = "| scenario | " + " | ".join(f"{name} req/s" for name in apps)
    header += " | trioapi / bare | trioapi / FastAPI |" if "FastAPI on trio" in apps else " |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    async with AsyncExitStack() as lifespans:
        for name, app in apps.items():
            if name != "bare ASGI":
                await lifespans.enter_async_context(running_lifespan(app))
        await print_rows(apps, seconds, repeats)


async def print_rows(apps: dict[str, Any], seconds: float, repeats: int) -> None:
    """Measure every scenario and print its table row."""
    for scenario, request in SCENARIOS.items():
        for name, app in apps.items():  # every app must answer, and alike
            status, body = await call(app, request)
            if status != 200:
                raise SystemExit(f"{name} answered {status} to {scenario}: {body!r}")
        best = dict.fromkeys(apps, 0.0)
        for _ in range(repeats):
            for name, app in apps.items():
                best[name] = max(best[name], await rate(app, request, seconds))
        row = f"| {scenario} | " + " | ".join(f"{best[name]:,.0f}" for name in apps)
        row += f" | {best['trioapi'] / best['bare ASGI']:.2f} |"
        if "FastAPI on trio" in best:
            row += f" {best['trioapi'] / best['FastAPI on trio']:.2f}x |"
        print(row, flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=0.5, help="length of one measurement")
    parser.add_argument("--repeats", type=int, default=3, help="runs per app; the best counts")
    args = parser.parse_args()
    trio.run(main, args.seconds, args.repeats)
