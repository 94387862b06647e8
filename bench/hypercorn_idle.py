"""What hypercorn's trio worker spends on its per-request idle-timeout task.

    .venv/bin/python bench/hypercorn_idle.py            (needs h2load and wrk)

Serves the bare ASGI app of ``bench.apps`` with hypercorn's trio worker in
this process (trioapi's hypercorn fixes are turned off), loads it with wrk
(HTTP/1.1) and h2load (HTTP/2) and prints the server's CPU time per request, four
ways, in turns:

- ``as shipped``: hypercorn's ``TrioSingleTask``, which cancels the idle
  task and starts a new one (``nursery.start``) on every idle change, that
  is twice per request on a connection with one request in flight;
- ``start_soon``: the same task per change, spawned without ``start``'s
  handshake (behaviour unchanged);
- ``one task per connection``: trioapi's ``ReusableSingleTask``, what
  the server layer's fix ``idle-task`` applies (``trioapi.server._idle_task``);
- ``no idle task``: restarts do nothing, so keep-alive connections never
  time out. Not a fix: the bound on what the idle task costs.

CPU time of this process only (the load generator is a child process); the least of
``--repeats`` runs counts, since other load only adds to it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import trio
from hypercorn.trio import run as worker_run
from hypercorn.trio import tcp_server, worker_context

# hypercorn as shipped, apart from the variant measured.
os.environ["TRIOAPI_HYPERCORN_FIXES"] = "0"
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import loadgen  # noqa: E402
from bench.apps import bare_app  # noqa: E402
from tests.serving import run_hypercorn  # noqa: E402
from trioapi.server._idle_task import ReusableIdleTask  # noqa: E402

SHIPPED_SERVER = tcp_server.TCPServer

SHIPPED = (worker_context.TrioSingleTask.restart, worker_context.TrioSingleTask.stop)


async def _run_in(scope: trio.CancelScope, action: Callable[[], Awaitable[None]]) -> None:
    with scope:
        await action()


async def _restart_soon(self: Any, task_group: Any, action: Callable[[], Awaitable[None]]) -> None:
    """``TrioSingleTask.restart`` with ``start_soon`` and a scope made here (the report's 1)."""
    if self._handle is not None:
        self._handle.cancel()
    self._handle = trio.CancelScope()
    task_group._nursery.start_soon(_run_in, self._handle, action)


async def _stop_soon(self: Any) -> None:
    if self._handle is not None:
        self._handle.cancel()
    self._handle = None


async def _do_nothing(self: Any, *args: Any) -> None:
    del self, args


class _NoIdleTask:
    restart = _do_nothing
    stop = _do_nothing


def _use(
    idle_task_class: type, restart: Any, stop: Any, server_class: type = SHIPPED_SERVER
) -> None:
    """New connections: ``server_class``, idle tasks ``idle_task_class`` with these methods."""
    setattr(worker_context.TrioSingleTask, "restart", restart)  # noqa: B010
    setattr(worker_context.TrioSingleTask, "stop", stop)  # noqa: B010
    setattr(tcp_server, "TrioSingleTask", idle_task_class)  # noqa: B010
    setattr(worker_run, "TCPServer", server_class)  # noqa: B010


# name -> how to set it up; each applies to the connections opened after it.
VARIANTS: dict[str, Callable[[], None]] = {
    "as shipped": lambda: _use(worker_context.TrioSingleTask, *SHIPPED),
    "start_soon": lambda: _use(worker_context.TrioSingleTask, _restart_soon, _stop_soon),
    "one task per connection (trioapi)": lambda: _use(
        worker_context.TrioSingleTask, *SHIPPED, server_class=ReusableIdleTask
    ),
    "no idle task": lambda: _use(_NoIdleTask, *SHIPPED),
}


async def server_cpu_per_request(url: str, requests: int, seconds: int, http1: bool) -> float:
    """Microseconds of this process's CPU per request while wrk (HTTP/1.1) or h2load loads ``url``.

    HTTP/1.1 is loaded by wrk for ``seconds``: h2load takes hypercorn's
    answers, which have no reason phrase, for failures and opens a new
    connection after each one. The load generator is a child process, waited
    for from a worker thread, so its CPU time is not counted.
    """
    if http1:
        load = partial(loadgen.wrk, url, seconds=seconds, connections=8)
    else:
        load = partial(loadgen.h2load, url, requests=requests, connections=8)
    start = time.process_time()
    run = await trio.to_thread.run_sync(load)
    spent = time.process_time() - start
    return spent / run.requests * 1e6


async def main(requests: int, seconds: int, repeats: int) -> None:
    least = {(name, http1): float("inf") for name in VARIANTS for http1 in (True, False)}
    async with run_hypercorn(bare_app) as url:
        for _ in range(repeats):
            for name, set_up in VARIANTS.items():
                set_up()
                for http1 in (True, False):
                    cpu = await server_cpu_per_request(url + "/plaintext", requests, seconds, http1)
                    least[name, http1] = min(least[name, http1], cpu)
    print("| idle task | HTTP/1.1 µs CPU/request | HTTP/2 µs CPU/request |")
    print("|---|---|---|")
    for name in VARIANTS:
        print(f"| {name} | {least[name, True]:.0f} | {least[name, False]:.0f} |")


if __name__ == "__main__":
    loadgen.require("h2load", "wrk")
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="per HTTP/2 run (h2load)")
    parser.add_argument("--seconds", type=int, default=3, help="per HTTP/1.1 run (wrk)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    trio.run(main, args.requests, args.seconds, args.repeats)
