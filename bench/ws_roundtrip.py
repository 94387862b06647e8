"""WebSocket round-trips per second through hypercorn's trio worker, trio-websocket as client.

    .venv/bin/python bench/ws_roundtrip.py                    # server in a subprocess
    .venv/bin/python bench/ws_roundtrip.py --inprocess        # server in this process
    .venv/bin/python bench/ws_roundtrip.py --clients 8 --seconds 3

Each client opens one socket to a trioapi ``@app.websocket`` echo endpoint and
sends a message, waits for its echo, and sends the next, for ``--seconds``.
The figure is completed round-trips per wall-clock second, all clients
together (one client: the latency-bound rate). The issue's target is 1,000/s.
Figures are for this machine and this run only.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import trio
from trio_websocket import open_websocket_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.served import serving  # noqa: E402
from trioapi import TrioAPI  # noqa: E402
from trioapi.websockets import WebSocket, WebSocketDisconnect  # noqa: E402

app = TrioAPI(openapi_url=None)


@app.websocket("/echo")
async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            await websocket.send_text(await websocket.receive_text())
    except WebSocketDisconnect:
        pass


async def client(url: str, seconds: float, payload: str, counts: list[int]) -> None:
    done = 0
    async with open_websocket_url(url) as ws:
        # Warm up, then count.
        for _ in range(20):
            await ws.send_message(payload)
            await ws.get_message()
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            await ws.send_message(payload)
            reply = await ws.get_message()
            assert reply == payload
            done += 1
    counts.append(done)


async def measure(url: str, clients: int, seconds: float, payload: str) -> float:
    counts: list[int] = []
    start = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for _ in range(clients):
            nursery.start_soon(client, url, seconds, payload, counts)
    elapsed = time.perf_counter() - start
    return sum(counts) / elapsed


async def run_inprocess(args: argparse.Namespace) -> float:
    from hypercorn.config import Config
    from hypercorn.trio import serve

    config = Config()
    config.bind = ["127.0.0.1:0"]
    config.accesslog = config.errorlog = None
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        binds = await nursery.start(
            lambda task_status: serve(
                app, config, shutdown_trigger=stop.wait, task_status=task_status
            )
        )
        url = binds[0].replace("http://", "ws://") + "/echo"
        rate = await measure(url, args.clients, args.seconds, "x" * args.size)
        stop.set()
    return rate


async def run_subprocess(args: argparse.Namespace) -> float:
    # Blocks this loop while the server starts; nothing else runs yet.
    with serving("bench.ws_roundtrip:app", "trio") as (url, _pid):
        url = url.replace("http://", "ws://") + "/echo"
        return await measure(url, args.clients, args.seconds, "x" * args.size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inprocess", action="store_true", help="serve in this process")
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--size", type=int, default=32, help="message size in bytes")
    args = parser.parse_args()
    runner = run_inprocess if args.inprocess else run_subprocess
    rate = trio.run(runner, args)
    where = "in-process" if args.inprocess else "subprocess"
    print(
        f"{rate:,.0f} WebSocket round-trips/s ({where} hypercorn trio worker, "
        f"{args.clients} client(s), {args.size}-byte messages, {args.seconds:g} s)"
    )


if __name__ == "__main__":
    main()
