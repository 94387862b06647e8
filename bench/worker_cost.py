"""Server CPU per request of hypercorn's trio worker, as shipped against with trioapi's fixes.

    .venv/bin/python bench/worker_cost.py [--requests 3000] [--rounds 3]
        [--seconds 3] [--variants 0,1] [--workers 1,2] [--load-cpus 1]
        [--profile DIR] [--instructions [--syscalls]]
                                                    (needs h2load and wrk)

Starts one server process per variant, each serving the bare ASGI app of
``bench.apps`` with ``hypercorn.trio.serve``; a variant is a value of
``TRIOAPI_HYPERCORN_FIXES`` (``0``: hypercorn as shipped, ``1``: every fix
of the server layer, ``-name``: every fix but that one). wrk (HTTP/1.1, for
``--seconds``) and h2load (HTTP/2, ``--requests``, ``-m 1``) load each in
turn with 8 connections, round after round, and the
server's CPU time is read from ``/proc/<pid>/stat`` (utime + stime, of every
process of the variant with ``--workers``) before and after each load.

Server CPU per request is the figure: on a shared machine requests per
second say more about the other processes than about the server, while a
process's CPU time counts only the time it ran. Each variant's median round
counts; the variants take turns, so a burst of load slows them alike.

``--workers 1,2`` serves each variant with ``trioapi run --workers N`` for
each N (a TrioAPI app doing what the bare app does) instead, all loaded in
turns (``-c 32`` then): part 4 of issue 16, many cores. ``--load-cpus``
pins wrk and h2load to those CPUs (``taskset -c``), so that on a machine
with cores to spare the load generator does not share the workers' cores.
``--profile DIR`` writes a cProfile of each single-process server to DIR.

``--instructions`` counts instead, free of the machine's load: each variant's
server runs under ``valgrind --tool=callgrind``, serves ``--warmup``
requests, has its counters zeroed (``callgrind_control -z PID``), serves
``--requests`` more and has them dumped: the server process's user-space
instructions per request, without start-up, warm-up and shutdown. One
connection, one request at a time unless ``--connections``; HTTP/1.1 from a
small blocking client of this script, HTTP/2 from h2load. ``--syscalls``
adds the system calls per request under ``strace -f -c`` (two runs, with
``--requests`` and ``--requests2`` requests, their difference; how often
Trio's scheduler polls depends on timing, so these move a little).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import loadgen  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")

# A TrioAPI app answering what the bare app's /plaintext answers, for ``--workers``.
WORKERS_APP = """
from trioapi import TrioAPI
from trioapi.responses import PlainTextResponse

app = TrioAPI(openapi_url=None)


@app.get("/plaintext", response_class=PlainTextResponse)
async def plaintext() -> str:
    return "Hello, world!"
"""


def serve(switch: str, profile: str | None) -> None:
    """The server process: the bare app on hypercorn's trio worker with ``switch`` as the fixes."""
    os.environ["TRIOAPI_HYPERCORN_FIXES"] = switch
    sys.path.insert(0, str(ROOT))
    import trio
    from hypercorn.config import Config
    from hypercorn.trio import serve as hypercorn_serve

    from bench.apps import bare_app
    from trioapi.server import apply_hypercorn_fixes

    apply_hypercorn_fixes()
    app: Any = bare_app
    config = Config()
    config.bind = ["127.0.0.1:0"]
    config.accesslog = None
    config.errorlog = None

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            binds = await nursery.start(
                lambda task_status: hypercorn_serve(app, config, task_status=task_status)
            )
            print(os.getpid(), binds[0], flush=True)

    if profile is None:
        signal.signal(signal.SIGTERM, _exit_now)
        trio.run(main)
        return
    import cProfile

    profiler = cProfile.Profile(time.process_time)  # CPU time, as the bench measures

    def dump(*_: object) -> None:
        profiler.disable()
        profiler.dump_stats(profile)
        os._exit(0)

    signal.signal(signal.SIGTERM, dump)
    profiler.enable()
    trio.run(main)


def _exit_now(*_: object) -> None:
    # An ordinary exit: valgrind and strace report on it (no traceback, no clean-up).
    os._exit(0)


def process_cpu(pids: list[int]) -> float:
    """Seconds of CPU (user + system) the processes have used."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
    return total / TICK


def children(pid: int) -> list[int]:
    """``pid`` and its descendants (the workers of ``trioapi run --workers N``)."""
    found = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        for child in text:
            found.extend(children(int(child)))
    return found


class Server:
    """One variant's server process(es)."""

    def __init__(
        self,
        switch: str,
        workers: int,
        profile: Path | None,
        app_dir: Path,
        wrapper: tuple[str, ...] = (),
    ) -> None:
        self.switch = switch
        env = {**os.environ, "TRIOAPI_HYPERCORN_FIXES": switch}
        if workers:
            port = _free_port()
            command = [
                sys.executable, "-m", "trioapi", "run", "app:app", "--host", "127.0.0.1",
                "--port", str(port), "--workers", str(workers), "--log-level", "warning",
            ]  # fmt: skip
            env["PYTHONPATH"] = str(app_dir)
            self.process: subprocess.Popen[str] = subprocess.Popen(
                command, env=env, cwd=app_dir, text=True
            )
            self.url = f"http://127.0.0.1:{port}"
            _wait_for(self.url)
        else:
            command = [*wrapper, sys.executable, __file__, f"--serve={switch}"]
            if profile is not None:
                command.append(f"--profile-to={profile / f'server{switch}.prof'}")
            self.process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
            assert self.process.stdout is not None
            pid, self.url = self.process.stdout.readline().split()
            self.server_pid = int(pid)  # under a wrapper (strace), not the process started
        self.pids = children(self.process.pid)

    def load(
        self,
        requests: int,
        seconds: int,
        http1: bool,
        connections: int,
        prefix: tuple[str, ...] = (),
    ) -> tuple[float, float]:
        """Server CPU µs per request and requests per second, for one load run.

        HTTP/2: h2load, ``requests`` requests. HTTP/1.1: wrk for ``seconds``
        (h2load takes hypercorn's answers, which have no reason phrase, for
        failures and opens a new connection after each one).
        """
        self.pids = children(self.process.pid)  # every worker, once all have started
        before = process_cpu(self.pids)
        url = self.url + "/plaintext"
        if http1:
            run = loadgen.wrk(url, seconds=seconds, connections=connections, prefix=prefix)
        else:
            run = loadgen.h2load(url, requests=requests, connections=connections, prefix=prefix)
        spent = process_cpu(self.pids) - before
        count, per_second = run.requests, run.per_second
        return spent / count * 1e6, per_second

    def stop(self) -> None:
        if self.process.stdout is not None:
            os.kill(self.server_pid, signal.SIGTERM)
        else:
            self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for(url: str) -> None:
    import urllib.request

    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url + "/plaintext", timeout=2).read()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def http1_requests(url: str, count: int, connections: int) -> None:
    """``count`` GETs of /plaintext over ``connections`` kept-alive HTTP/1.1 connections.

    Each connection (a thread) sends a request and reads its answer whole
    before the next: wrk cannot make a fixed number of requests, and h2load
    reconnects after each of hypercorn's HTTP/1.1 answers.
    """
    import socket
    import threading

    host, port = url.removeprefix("http://").split(":")
    request = f"GET /plaintext HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()

    errors: list[BaseException] = []

    def client(requests: int) -> None:
        try:
            while requests > 0:
                # A new connection every 500 requests: hypercorn closes one after
                # keep_alive_max_requests (1,000).
                batch = min(requests, 500)
                exchange(batch)
                requests -= batch
        except BaseException as error:  # a thread's error would be lost
            errors.append(error)

    def exchange(requests: int) -> None:
        with socket.create_connection((host, int(port))) as sock:
            buffered = b""
            for _ in range(requests):
                sock.sendall(request)
                while b"\r\n\r\n" not in buffered:
                    buffered += _received(sock)
                head, _, buffered = buffered.partition(b"\r\n\r\n")
                length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
                if not head.startswith(b"HTTP/1.1 200") or length is None:
                    raise SystemExit(f"unexpected answer: {head!r}")
                while len(buffered) < int(length.group(1)):
                    buffered += _received(sock)
                buffered = buffered[int(length.group(1)) :]

    shares = [count // connections + (i < count % connections) for i in range(connections)]
    threads = [threading.Thread(target=client, args=(share,)) for share in shares]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def _received(sock: Any) -> bytes:
    chunk: bytes = sock.recv(65536)
    if not chunk:
        raise SystemExit("the server closed the connection")
    return chunk


def _load_plain(url: str, http1: bool, count: int, connections: int) -> None:
    """``count`` requests for /plaintext, ``connections`` at a time, one in flight on each."""
    if http1:
        http1_requests(url, count, connections)
        return
    loadgen.h2load(url + "/plaintext", requests=count, connections=connections)


def instructions_per_request(switch: str, http1: bool, args: argparse.Namespace) -> float:
    """User-space instructions of the server process per request, under callgrind.

    Instrumentation starts after start-up, the counters are zeroed after the
    warm-up and dumped after the requests (``callgrind_control`` with the
    server's own pid), so start-up, warm-up and shutdown are not counted.
    """
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "callgrind.out"
        wrapper = ("valgrind", "--tool=callgrind", f"--callgrind-out-file={out}")
        # Start-up runs uninstrumented (several times faster under valgrind).
        wrapper += ("--instr-atstart=no", f"--log-file={Path(scratch) / 'log'}")
        server = Server(switch, 0, None, Path(scratch), wrapper)
        try:
            _callgrind_control("-i on", server.server_pid)
            _load_plain(server.url, http1, args.warmup, args.connections)
            _callgrind_control("-z", server.server_pid)
            _load_plain(server.url, http1, args.requests, args.connections)
            _callgrind_control("-d", server.server_pid)
        finally:
            server.stop()
        dumped = Path(f"{out}.1").read_text()
    found = re.search(r"^summary: (\d+)", dumped, re.M)
    if found is None:
        raise SystemExit(f"callgrind dumped no summary for {switch}")
    return int(found.group(1)) / args.requests


def _callgrind_control(option: str, pid: int) -> None:
    # Always with the pid: without one, callgrind_control acts on EVERY callgrind run on the machine.
    if pid <= 0:
        raise SystemExit(f"no server pid for callgrind_control {option}")
    command = ["callgrind_control", *option.split(), str(pid)]
    subprocess.run(command, capture_output=True, check=True)


def system_calls_per_request(switch: str, http1: bool, args: argparse.Namespace) -> float:
    """System calls of the server per request, under ``strace -f -c``: two runs, their difference."""
    import tempfile

    totals = []
    for count in (args.requests, args.requests2):
        with tempfile.TemporaryDirectory() as scratch:
            report = Path(scratch) / "report"
            server = Server(
                switch, 0, None, Path(scratch), ("strace", "-f", "-c", "-o", str(report))
            )
            try:
                _load_plain(server.url, http1, args.warmup, args.connections)
                _load_plain(server.url, http1, count, args.connections)
            finally:
                server.stop()
            text = report.read_text()
        found = re.search(r"^\s*100\.00\s+\S+\s+\S+\s+(\d+)(?:\s+\d+)?\s+total", text, re.M)
        if found is None:
            raise SystemExit(f"strace reported nothing for {switch}:\n{text[-2000:]}")
        totals.append(int(found.group(1)))
    return (totals[1] - totals[0]) / (args.requests2 - args.requests)


def count_per_request(args: argparse.Namespace) -> None:
    """``--instructions``: instructions and system calls per request of each variant."""
    switches = args.variants.split(",")
    print(
        f"per request: instructions over {args.requests} requests after {args.warmup} warm-up "
        f"ones; system calls ({args.requests2} requests) - ({args.requests}); "
        f"{args.connections} connection(s), one request in flight on each"
    )
    print("| TRIOAPI_HYPERCORN_FIXES | protocol | instructions | vs first | system calls |")
    print("|---|---|---|---|---|")
    first: dict[bool, float] = {}
    for http1 in [name == "h1" for name in args.protocols.split(",")]:
        for switch in switches:
            count = instructions_per_request(switch, http1, args)
            calls = system_calls_per_request(switch, http1, args) if args.syscalls else 0.0
            first.setdefault(http1, count)
            print(
                f"| {switch} | {'HTTP/1.1' if http1 else 'HTTP/2'} | {count:,.0f} "
                f"| {first[http1] / count:.2f}x | {calls:.2f} |",
                flush=True,
            )


def main(args: argparse.Namespace) -> None:
    import tempfile

    switches = args.variants.split(",")
    counts = [int(n) for n in args.workers.split(",")]
    profile = Path(args.profile) if args.profile else None
    connections = args.load_connections or (32 if any(counts) else 8)
    load_prefix = ("taskset", "-c", args.load_cpus) if args.load_cpus else ()
    with tempfile.TemporaryDirectory() as app_dir:
        (Path(app_dir) / "app.py").write_text(WORKERS_APP)
        servers = {
            (f"{switch}, {n} worker(s)" if n else switch): Server(switch, n, profile, Path(app_dir))
            for n in counts
            for switch in switches
        }
        cpu: dict[tuple[str, bool], list[float]] = {}
        rate: dict[tuple[str, bool], list[float]] = {}
        try:
            for _ in range(args.rounds):
                for http1 in (True, False):
                    for label, server in servers.items():
                        spent, per_second = server.load(
                            args.requests, args.seconds, http1, connections, load_prefix
                        )
                        cpu.setdefault((label, http1), []).append(spent)
                        rate.setdefault((label, http1), []).append(per_second)
        finally:
            for server in servers.values():
                server.stop()
    base = next(iter(servers))
    print(f"server CPU µs per request, median of {args.rounds} (all rounds), vs {base}")
    print("(vs first: of the medians; paired: the median of the rounds' own ratios):")
    print("| variant | HTTP/1.1 µs | vs first | paired | HTTP/2 µs | vs first | paired |")
    print("|---|---|---|---|---|---|---|")
    for label in servers:
        row = [label]
        for http1 in (True, False):
            mine, theirs = cpu[label, http1], cpu[base, http1]
            median = statistics.median(mine)
            paired = statistics.median(b / a for a, b in zip(mine, theirs, strict=True))
            rounds = " · ".join(f"{value:.0f}" for value in mine)
            row += [
                f"{median:.0f} ({rounds})",
                f"{statistics.median(theirs) / median:.2f}x",
                f"{paired:.2f}x",
            ]
        print("| " + " | ".join(row) + " |")
    print(f"\nrequests/s, median ({connections} connections):")
    for label in servers:
        h1 = statistics.median(rate[label, True])
        h2 = statistics.median(rate[label, False])
        print(f"| {label} | HTTP/1.1 {h1:,.0f} | HTTP/2 {h2:,.0f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--seconds", type=int, default=3, help="per HTTP/1.1 run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--variants", default="0,1")
    parser.add_argument(
        "--workers", default="0", help="trioapi run --workers N for each N of a list (0: bare app)"
    )
    parser.add_argument("--load-cpus", default="", help="taskset -c LIST for wrk and h2load")
    parser.add_argument("--load-connections", type=int, default=0)
    parser.add_argument("--profile", default=None, help="a directory for cProfile output")
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="count instructions (callgrind) and system calls (strace) per request instead",
    )
    parser.add_argument("--requests2", type=int, default=600, help="with --syscalls")
    parser.add_argument(
        "--syscalls", action="store_true", help="with --instructions: system calls too (strace)"
    )
    parser.add_argument("--warmup", type=int, default=100, help="with --instructions")
    parser.add_argument("--protocols", default="h1,h2", help="with --instructions")
    parser.add_argument("--connections", type=int, default=1, help="with --instructions")
    parser.add_argument("--serve", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--profile-to", default=None, help=argparse.SUPPRESS)
    parsed = parser.parse_args()
    if parsed.serve is not None:
        serve(parsed.serve, parsed.profile_to)
    else:
        loadgen.require("h2load")
        if parsed.instructions:
            count_per_request(parsed)
        else:
            main(parsed)
