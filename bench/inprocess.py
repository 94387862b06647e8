"""In-process benchmark: call each app's ASGI entry directly under Trio, same requests.

    make bench                                   (sets up .venv-bench with FastAPI)
    .venv-bench/bin/python bench/inprocess.py [--seconds 2.0]

Each framework app runs its lifespan around the measurement, as under a
server, and each request gets what hypercorn's trio worker gives an app (see
``prepare``). For each scenario of ``bench.apps.SCENARIOS`` it measures
requests per CPU-second of the bare ASGI app, trioapi, and FastAPI 0.163
running on Trio (through anyio) and on asyncio (see ``AsyncioRunner``), the
apps taking turns batch by batch (see ``rates``), and prints a Markdown
table of the ratios. Only ratios from one
run on one machine mean anything: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
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
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("bench", 80),
    }


Prepared = tuple[dict[str, Any], Any, Any, list[dict[str, Any]]]

# Hypercorn's default max_app_queue_size: the capacity of each request's queue.
APP_QUEUE_SIZE = 10


def request_messages(request: Request) -> list[dict[str, Any]]:
    """What hypercorn puts in the app's queue for a request: the body, if any, then its end."""
    end = {"type": "http.request", "body": b"", "more_body": False}
    if not request[4]:
        return [end]
    return [{"type": "http.request", "body": request[4], "more_body": True}, end]


def prepare(request: Request) -> Prepared:
    """The scope, ``receive`` and ``send`` of one request, made as hypercorn's trio worker makes them.

    ``receive`` is a Trio memory channel's, with the messages hypercorn
    puts for the request already queued: the body (if any), then an empty
    end-of-body message. A further read waits, as it does until the client
    leaves. ``send`` records the messages (the last item).
    """
    to_app, app_inbox = trio.open_memory_channel[dict[str, Any]](APP_QUEUE_SIZE)
    for message in request_messages(request):
        to_app.send_nowait(message)
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    # Kept on send: the sending end lives as long as the request, as in hypercorn.
    send.channel = to_app  # type: ignore[attr-defined]
    return make_scope(request), app_inbox.receive, send, sent


def response_of(sent: list[dict[str, Any]]) -> tuple[int, bytes]:
    """The status and the body of the messages a request sent."""
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body


BATCH = 50


async def time_calls(app: Any, batch: list[Prepared]) -> float:
    """CPU seconds per request of the app's calls for a prepared batch (any event loop).

    Only the app calls are timed: the batch was prepared first (the
    server's share: the scopes and the receive queues). CPU time of this
    process, not wall time: the calls never wait on I/O, so the two agree on
    an idle machine, and on a busy shared one CPU time does not count the
    time other processes held the core.
    """
    start = time.process_time()
    for scope, receive, send, _ in batch:
        await app(scope, receive, send)
    return (time.process_time() - start) / BATCH


class TrioRunner:
    """An ASGI app called on the benchmark's own Trio loop."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def call(self, request: Request) -> tuple[int, bytes]:
        """One request as a server would make it; returns the status and the body."""
        scope, receive, send, sent = prepare(request)
        await self.app(scope, receive, send)
        return response_of(sent)

    async def batch_seconds(self, request: Request) -> float:
        """CPU seconds per request of one batch (see :func:`time_calls`)."""
        return await time_calls(self.app, [prepare(request) for _ in range(BATCH)])

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Run the app's lifespan around the block, as a server does."""
        to_app, app_inbox = trio.open_memory_channel[dict[str, Any]](1)
        to_server, server_inbox = trio.open_memory_channel[dict[str, Any]](1)
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self.app, scope, app_inbox.receive, to_server.send)
            await to_app.send({"type": "lifespan.startup"})
            started = await server_inbox.receive()
            if started["type"] != "lifespan.startup.complete":
                raise SystemExit(f"lifespan startup failed: {started}")
            yield
            await to_app.send({"type": "lifespan.shutdown"})
            await server_inbox.receive()


class AsyncioRunner:
    """An ASGI app on an asyncio loop of its own, driven one batch at a time.

    Each request gets what hypercorn's asyncio worker gives an app: an
    ``asyncio.Queue``'s ``get`` as ``receive``, the messages already queued.
    The Trio loop blocks while the asyncio loop runs a batch (only the
    asyncio loop's work is timed), and the lifespan's task waits in the
    asyncio loop between batches.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()

    def _prepare(self, request: Request) -> Prepared:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(APP_QUEUE_SIZE)
        for message in request_messages(request):
            queue.put_nowait(message)
        sent: list[dict[str, Any]] = []

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        return make_scope(request), queue.get, send, sent

    async def call(self, request: Request) -> tuple[int, bytes]:
        scope, receive, send, sent = self._prepare(request)
        self.loop.run_until_complete(self.app(scope, receive, send))
        return response_of(sent)

    async def batch_seconds(self, request: Request) -> float:
        batch = [self._prepare(request) for _ in range(BATCH)]
        return self.loop.run_until_complete(time_calls(self.app, batch))

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Run the app's lifespan in the asyncio loop around the block."""
        to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        to_server: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        lifespan = self.loop.create_task(self.app(scope, to_app.get, to_server.put))
        to_app.put_nowait({"type": "lifespan.startup"})
        started = self.loop.run_until_complete(to_server.get())
        if started["type"] != "lifespan.startup.complete":
            raise SystemExit(f"lifespan startup failed: {started}")
        try:
            yield
        finally:
            to_app.put_nowait({"type": "lifespan.shutdown"})
            self.loop.run_until_complete(lifespan)
            self.loop.close()


async def rates(runners: dict[str, Any], request: Request, seconds: float) -> dict[str, float]:
    """Requests per CPU-second of each app, from its median batch.

    The apps take turns batch by batch until the slowest has run about
    ``seconds``, so a burst of load on the shared machine slows them all
    alike rather than whichever app was running then.
    """
    samples: dict[str, list[float]] = {name: [] for name in runners}
    while max(sum(times) for times in samples.values()) * BATCH < seconds:
        for name, runner in runners.items():
            samples[name].append(await runner.batch_seconds(request))
    return {name: 1 / statistics.median(times) for name, times in samples.items()}


def build_runners() -> dict[str, Any]:
    """The apps to compare; FastAPI's only where it is installed (``make bench``)."""
    runners: dict[str, Any] = {
        "bare ASGI": TrioRunner(bare_app),
        "trioapi": TrioRunner(build_framework_app("trioapi")),
    }
    try:
        runners["FastAPI on trio"] = TrioRunner(build_framework_app("fastapi"))
        runners["FastAPI on asyncio"] = AsyncioRunner(build_framework_app("fastapi"))
    except ImportError:
        print("fastapi is not installed here: run `make bench` to measure against it\n")
    return runners


async def main(seconds: float) -> None:
    runners = build_runners()
    print(f"Python {sys.version.split()[0]}, trio {trio.__version__}, {seconds}s per app\n")
    ratios = ["bare ASGI", *(name for name in runners if name.startswith("FastAPI"))]
    header = "| scenario | " + " | ".join(f"{name} req/s" for name in runners) + " | "
    header += " | ".join(f"trioapi / {name}" for name in ratios) + " |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    async with AsyncExitStack() as lifespans:
        for runner in runners.values():
            await lifespans.enter_async_context(runner.running())
        await print_rows(runners, ratios, seconds)


async def print_rows(runners: dict[str, Any], ratios: list[str], seconds: float) -> None:
    """Measure every scenario and print its table row."""
    for scenario, request in SCENARIOS.items():
        for name, runner in runners.items():  # every app must answer, and alike
            status, body = await runner.call(request)
            if status != 200:
                raise SystemExit(f"{name} answered {status} to {scenario}: {body!r}")
        rate = await rates(runners, request, seconds)
        row = f"| {scenario} | " + " | ".join(f"{rate[name]:,.0f}" for name in runners) + " | "
        row += " | ".join(f"{rate['trioapi'] / rate[name]:.2f}x" for name in ratios) + " |"
        print(row, flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--seconds", type=float, default=2.0, help="CPU seconds of calls per app and scenario"
    )
    args = parser.parse_args()
    trio.run(main, args.seconds)
