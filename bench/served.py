"""End-to-end benchmark: the same API through hypercorn, loaded by h2load.

    .venv-bench/bin/python bench/served.py [--requests 4000] [--clients 8] [--rounds 3] [--http1]
        [--apps floor trioapi ...] [--scenarios plaintext ...]

Needs ``h2load`` (Debian: ``apt-get install nghttp2-client``) and the bench
virtualenv (``make bench`` sets it up with FastAPI). Each app of
``bench.apps`` is served by ``hypercorn`` in a subprocess of its own (the
trio worker for the bare app, trioapi and FastAPI on trio; the asyncio
worker for FastAPI on asyncio) on a free 127.0.0.1 port, and FastAPI also by
uvicorn with uvloop and httptools (HTTP/1.1 only); h2load sends each
scenario's request ``--requests`` times over ``--clients`` connections (h2c,
or HTTP/1.1 with ``--http1``; one request in flight per connection). The
apps take turns app by app for ``--rounds`` rounds and each one's best round
counts. Two tables: requests per CPU-second of the server process (and its
worker), read from /proc, which other load on the machine barely moves; and
requests per second as h2load saw them, which it moves a lot (server and
h2load share the two cores). Either way the figures are what the whole
stack does, hypercorn's HTTP work included, so the ratios are smaller than
in-process. trioapi's process runs hypercorn with trioapi's version-guarded
fixes (``trioapi.server``, each logged), and so does ``floor``, the bare
app under the same fixes: what trioapi is measured against (the fair floor).
The bare app, FastAPI on trio and on asyncio run hypercorn as shipped.
``--apps``/``--scenarios`` pick a subset; ``--clients 64`` saturates the server.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.apps import SCENARIOS, bare_app, build_framework_app  # noqa: E402

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
    (``trioapi.server``); the bare app under the same fixes is what trioapi
    costs on top of the server it gets.
    """
    from trioapi.server import apply_hypercorn_fixes_if_served

    apply_hypercorn_fixes_if_served()
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


def h2load(url: str, scenario: str, requests: int, clients: int, *, http1: bool) -> float:
    """Requests per second h2load gets for one scenario; every response must be a 2xx.

    Over HTTP/1.1 h2load (1.52) cannot read hypercorn's status line, which
    has no reason phrase (``HTTP/1.1 200 \\r\\n``), and counts every response
    as failed; there every request must be done without an error instead.
    """
    method, path, query, headers, body = SCENARIOS[scenario]
    target = url + path + (f"?{query.decode()}" if query else "")
    return run_h2load(
        target,
        requests,
        clients,
        http1=http1,
        headers=headers,
        body=body if method == "POST" else None,
    )


def run_h2load(
    target: str,
    requests: int,
    clients: int,
    *,
    http1: bool,
    headers: list[tuple[bytes, bytes]] | None = None,
    body: bytes | None = None,
) -> float:
    """Requests per second h2load gets sending ``requests`` to ``target`` (a POST with ``body``)."""
    command = ["h2load", "-n", str(requests), "-c", str(clients), "-m", "1"]
    if http1:
        command.append("--h1")
    for name, value in headers or []:
        command += ["-H", f"{name.decode()}: {value.decode()}"]
    with tempfile.NamedTemporaryFile(suffix=".json") as data:
        if body is not None:
            data.write(body)
            data.flush()
            command += ["-d", data.name]
        output = subprocess.run(
            [*command, target], capture_output=True, text=True, check=True
        ).stdout
    if http1:
        expected = rf"requests: {requests} total, {requests} started, {requests} done, .* 0 errored"
    else:
        expected = rf"status codes: {requests} 2xx"
    rate = re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", output)
    if rate is None or re.search(expected, output) is None:
        raise SystemExit(f"h2load did not get {requests} answers from {target}:\n{output}")
    return float(rate.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=4000, help="per scenario and round")
    parser.add_argument("--clients", type=int, default=8, help="connections (64: saturation)")
    parser.add_argument("--rounds", type=int, default=3, help="the best round counts")
    parser.add_argument("--http1", action="store_true", help="HTTP/1.1 instead of HTTP/2 (h2c)")
    parser.add_argument("--apps", nargs="*", default=list(SERVED), help="default: all")
    parser.add_argument("--scenarios", nargs="*", default=list(SCENARIOS), help="default: all")
    args = parser.parse_args()
    if shutil.which("h2load") is None:
        raise SystemExit("h2load is not installed (Debian: apt-get install nghttp2-client)")
    names = [name for name in SERVED if name in args.apps]
    if importlib.util.find_spec("fastapi") is None:
        names = [name for name in names if not name.startswith("FastAPI")]
        print("fastapi is not installed here: run `make bench` to measure against it\n")
    if not args.http1 and "FastAPI on uvicorn" in names:
        names.remove("FastAPI on uvicorn")  # uvicorn does not serve HTTP/2
    scenarios = [scenario for scenario in SCENARIOS if scenario in args.scenarios]
    per_cpu_second = {name: dict.fromkeys(scenarios, 0.0) for name in names}
    per_second = {name: dict.fromkeys(scenarios, 0.0) for name in names}
    for _ in range(args.rounds):
        for name in names:
            app, worker = SERVED[name]
            with serving(f"bench.served:{app}", worker) as (url, pid):
                warm_up = min(args.requests, 500)
                h2load(url, "plaintext", warm_up, args.clients, http1=args.http1)
                for scenario in scenarios:
                    cpu = server_cpu_seconds(pid)
                    rate = h2load(url, scenario, args.requests, args.clients, http1=args.http1)
                    cpu = server_cpu_seconds(pid) - cpu
                    best = per_cpu_second[name]
                    best[scenario] = max(best[scenario], args.requests / max(cpu, 0.01))
                    per_second[name][scenario] = max(per_second[name][scenario], rate)
    print("Requests per CPU-second of the server process (h2load's CPU not counted):\n")
    print_table(names, scenarios, per_cpu_second, "req/CPU-s")
    print("\nRequests per second, as h2load saw them (server and h2load share the cores):\n")
    print_table(names, scenarios, per_second, "req/s")


def print_table(
    names: list[str], scenarios: list[str], rates: dict[str, dict[str, float]], unit: str
) -> None:
    """One row per scenario: each app's rate, then each app against the floor.

    The floor is the bare app on the trio worker with trioapi's hypercorn
    fixes (``floor``), or the bare app as shipped when the floor is not run.
    """
    floor = "floor" if "floor" in names else "bare ASGI"
    ratios = [name for name in names if name != floor]
    header = "| scenario | " + " | ".join(f"{name} {unit}" for name in names) + " | "
    header += " | ".join(f"{name} / {floor}" for name in ratios) + " |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for scenario in scenarios:
        row = f"| {scenario} | " + " | ".join(f"{rates[name][scenario]:,.0f}" for name in names)
        row += " | " + " | ".join(
            f"{rates[name][scenario] / rates[floor][scenario]:.2f}x" for name in ratios
        )
        print(row + " |", flush=True)


if __name__ == "__main__":
    main()
