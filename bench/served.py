"""End-to-end benchmark: the same API through a real server, at saturation.

    .venv-bench/bin/python bench/served.py [--http1] [--clients 64] [--rounds 3]
        [--seconds 3] [--requests 4000] [--apps floor trioapi ...] [--scenarios plaintext ...]

Needs ``wrk`` (HTTP/1.1), ``h2load`` (HTTP/2; Debian: ``apt-get install wrk
nghttp2-client``) and the bench virtualenv (``make bench`` sets it up with
FastAPI, uvicorn, uvloop and httptools; an older ``.venv-bench`` may lack the
last three). Each app is served in a subprocess of its own on a free
127.0.0.1 port, all of them for the whole run:

- ``floor``: the bare ASGI app of ``bench.apps`` on hypercorn's trio worker
  with what a trioapi process always has, trioapi's version-guarded
  hypercorn fixes (``trioapi.server``) and the garbage collector's higher
  first threshold (``trioapi._collector``): what trioapi is measured against;
- ``trioapi`` and ``FastAPI on trio`` on the same worker (trioapi's process
  applies the fixes itself; FastAPI's runs hypercorn as shipped);
- ``FastAPI on uvicorn``: uvicorn with uvloop and httptools, what FastAPI
  users run today (HTTP/1.1 only);
- on request (``--apps``): ``bare ASGI`` (hypercorn as shipped) and
  ``FastAPI on asyncio`` (hypercorn's asyncio worker).

Each scenario's request is sent over ``--clients`` connections, one request
in flight on each (64, the default, saturates the server): over HTTP/1.1 by
wrk for ``--seconds``, over h2c by h2load ``--requests`` times (see
``bench.loadgen`` for why not h2load over HTTP/1.1). Round after round,
scenario by scenario, the apps take turns, so a burst of other load on the
machine falls on all of them alike; each figure is the median of the rounds.

The figure is the server's CPU time per request (user + system of the server
process and its children, read from /proc before and after each run): load
from other processes on a shared machine barely moves it, while requests per
second (the second table) move with whatever else runs, the load generator
included. The ratios read as requests per CPU-second against the floor's.
Either way the figures are what the whole stack does, the server's HTTP work
included, so the ratios are smaller than in-process (``bench/inprocess.py``).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.apps import SCENARIOS, bare_app, build_framework_app  # noqa: E402
from bench.loadgen import LoadRun, h2load, require, wrk  # noqa: E402

# name -> (what the server serves, evaluated in this module, and its worker class:
# hypercorn's "trio" or "asyncio" worker, or "uvicorn" for uvicorn with uvloop
# and httptools, what FastAPI users run today)
SERVED = {
    "bare ASGI": ("bare_app", "trio"),
    "floor": ("floor_app()", "trio"),
    "trioapi": ("build_framework_app('trioapi')", "trio"),
    "FastAPI on trio": ("build_framework_app('fastapi')", "trio"),
    "FastAPI on asyncio": ("build_framework_app('fastapi')", "asyncio"),
    "FastAPI on uvicorn": ("fastapi_app", "uvicorn"),  # uvicorn calls it (--factory)
}
DEFAULT_APPS = ["floor", "trioapi", "FastAPI on trio", "FastAPI on uvicorn"]
__all__ = [
    "bare_app",
    "build_framework_app",
    "fastapi_app",
    "floor_app",
]  # for the servers' app expressions


def fastapi_app() -> Any:
    """The FastAPI app, for uvicorn's ``--factory`` (it takes no call expression)."""
    return build_framework_app("fastapi")


def floor_app() -> Any:
    """The bare app on the trio worker with trioapi's hypercorn fixes: the fair floor.

    A trioapi process always runs hypercorn with its fixes
    (``trioapi.server``) and a higher first threshold for the garbage
    collector (``trioapi._collector``); the bare app under the same is what
    trioapi costs on top of the server and process it gets.
    """
    from trioapi._collector import raise_gc_threshold_if_served
    from trioapi.server import apply_hypercorn_fixes_if_served

    apply_hypercorn_fixes_if_served()
    raise_gc_threshold_if_served()
    return bare_app


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def server_cpu_seconds(pid: int) -> float:
    """CPU seconds (user and system) used so far by process ``pid`` and its descendants."""
    ticks = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue  # gone meanwhile
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
        pending.extend(int(child) for child in children)
    return ticks / os.sysconf("SC_CLK_TCK")


@contextmanager
def serving(target: str, worker: str) -> Iterator[tuple[str, int]]:
    """Serve ``target`` (``module:app``) with hypercorn until the block ends; yields URL and pid.

    ``worker`` is hypercorn's worker class, or ``"uvicorn"`` to serve with uvicorn instead.
    """
    port = free_port()
    if worker == "uvicorn":
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--factory",
            target,
        ]
    else:
        command = [
            sys.executable,
            "-m",
            "hypercorn",
            "--worker-class",
            worker,
            "--bind",
            f"127.0.0.1:{port}",
            target,
        ]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SystemExit(f"hypercorn did not start: {' '.join(command)}") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}", process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


def load(url: str, scenario: str, args: argparse.Namespace, *, warm_up: bool = False) -> LoadRun:
    """One load run of ``scenario`` on the server at ``url``: wrk over HTTP/1.1, else h2load."""
    method, path, query, headers, body = SCENARIOS[scenario]
    target = url + path + (f"?{query.decode()}" if query else "")
    sent = body if method == "POST" else None
    if args.http1:
        seconds = 1 if warm_up else args.seconds
        return wrk(
            target,
            seconds=seconds,
            connections=args.clients,
            method=method,
            headers=headers,
            body=sent,
        )
    requests = min(args.requests, 300) if warm_up else args.requests
    return h2load(target, requests=requests, connections=args.clients, headers=headers, body=sent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=4000, help="per HTTP/2 run (h2load)")
    parser.add_argument("--seconds", type=int, default=3, help="per HTTP/1.1 run (wrk)")
    parser.add_argument("--clients", type=int, default=64, help="connections (64: saturation)")
    parser.add_argument("--rounds", type=int, default=3, help="the median round counts")
    parser.add_argument("--http1", action="store_true", help="HTTP/1.1 (wrk) instead of h2c")
    parser.add_argument("--apps", nargs="*", default=DEFAULT_APPS, help="of: " + ", ".join(SERVED))
    parser.add_argument("--scenarios", nargs="*", default=list(SCENARIOS), help="default: all")
    args = parser.parse_args()
    require("wrk" if args.http1 else "h2load")
    names = [name for name in SERVED if name in args.apps]
    if importlib.util.find_spec("fastapi") is None:
        names = [name for name in names if not name.startswith("FastAPI")]
        print("fastapi is not installed here: run `make bench` to measure against it\n")
    if not args.http1 and "FastAPI on uvicorn" in names:
        names.remove("FastAPI on uvicorn")  # uvicorn does not serve HTTP/2
    scenarios = [scenario for scenario in SCENARIOS if scenario in args.scenarios]
    cpu_us: dict[str, dict[str, list[float]]] = {name: {s: [] for s in scenarios} for name in names}
    per_second: dict[str, dict[str, list[float]]] = {
        name: {s: [] for s in scenarios} for name in names
    }
    with ExitStack() as servers:
        served = {name: servers.enter_context(serving(*_target(name))) for name in names}
        for url, _ in served.values():
            for scenario in scenarios:
                load(url, scenario, args, warm_up=True)  # imports, first-call builds
        # Round by round, scenario by scenario, the apps take turns: a burst
        # of other load on the machine falls on all of them alike.
        for _ in range(args.rounds):
            for scenario in scenarios:
                for name, (url, pid) in served.items():
                    cpu = server_cpu_seconds(pid)
                    run = load(url, scenario, args)
                    cpu = server_cpu_seconds(pid) - cpu
                    cpu_us[name][scenario].append(cpu / run.requests * 1e6)
                    per_second[name][scenario].append(run.per_second)
    protocol = "HTTP/1.1, wrk" if args.http1 else "HTTP/2 (h2c), h2load"
    print(f"{protocol}, {args.clients} connections, median of {args.rounds} rounds.\n")
    print("Server CPU per request (the figure: other load on the machine barely moves it);")
    print("the ratios are requests per CPU-second against the floor's (floor µs / app µs):\n")
    print_table(names, scenarios, _medians(cpu_us), "µs/req", per_request=True)
    print("\nRequests per second, as the load generator saw them (it shares the cores):\n")
    print_table(names, scenarios, _medians(per_second), "req/s")


def _target(name: str) -> tuple[str, str]:
    app, worker = SERVED[name]
    return f"bench.served:{app}", worker


def _medians(values: dict[str, dict[str, list[float]]]) -> dict[str, dict[str, float]]:
    return {
        name: {scenario: statistics.median(runs) for scenario, runs in rows.items()}
        for name, rows in values.items()
    }


def print_table(
    names: list[str],
    scenarios: list[str],
    rates: dict[str, dict[str, float]],
    unit: str,
    *,
    per_request: bool = False,
) -> None:
    """One row per scenario: each app's figure, then each app against the floor.

    The floor is the bare app on the trio worker with trioapi's hypercorn
    fixes (``floor``), or the bare app as shipped when the floor is not run.
    A ratio above 1 is better than the floor: ``app / floor`` for rates,
    ``floor / app`` for a cost ``per_request``.
    """
    floor = "floor" if "floor" in names else "bare ASGI"
    ratios = [name for name in names if name != floor]
    header = "| scenario | " + " | ".join(f"{name} {unit}" for name in names) + " | "
    header += " | ".join(f"{name} / {floor}" for name in ratios) + " |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for scenario in scenarios:
        row = f"| {scenario} | " + " | ".join(f"{rates[name][scenario]:,.0f}" for name in names)
        ratio = [rates[name][scenario] / rates[floor][scenario] for name in ratios]
        if per_request:
            ratio = [1 / value for value in ratio]
        row += " | " + " | ".join(f"{value:.2f}x" for value in ratio)
        print(row + " |", flush=True)


if __name__ == "__main__":
    main()
