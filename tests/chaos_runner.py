"""One chaos run: serve the app, drive one request to its target checkpoint, cancel it there.

:func:`run_case` returns a :class:`Report` (what the client saw, the app's
event log, whether a follow-up request was served, tasks left behind, and
every error log record, unraisable exception and warning of the run);
:func:`problems_of` lists what is wrong with it. The test and
``bench/chaos.py`` share both.
"""

from __future__ import annotations

import gc
import logging
import sys
import threading
import time
import warnings
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import trio
import trio.testing

from tests.chaos_app import (
    AFTER_RESPONSE,
    AFTER_START,
    BODY_CHUNKS,
    HTTP_CHECKPOINTS,
    WEBSOCKET_CHECKPOINTS,
    ChaosRun,
    ChaosState,
    build_app,
    check_log,
    expected_body,
    route_for,
)
from tests.chaos_clients import H2Client, H11Client, Outcome, WsClient, _open, h11_get
from tests.serving import run_hypercorn
from trioapi.testclient import TestClient
from trioapi.testing import AsyncTestClient
from trioapi.websockets import WebSocketDisconnect

SERVED = ("h11", "h2", "ws")
IN_PROCESS = ("async_client", "sync_client")
# shutdown: the server's graceful shutdown, and the request goes on within its grace;
# cancel: the request is cancelled from outside (hypercorn once its grace is over,
# or the test's own cancel scope around the test client).
KINDS = ("deadline", "disconnect", "shutdown", "cancel")
STOPS = ("shutdown", "cancel")
# Checkpoints where the request's task waits on a worker thread before its response.
THREAD_WAIT = frozenset({"endpoint.thread", "endpoint.sync", "dep.sync.setup"})
GRACEFUL_TIMEOUT = {"shutdown": 2.0, "cancel": 0.05}  # hypercorn's grace before its cancel
CLIENT_BOUND = 3.0  # longest a client waits for anything: past it, the run is a hang
RUN_BOUND = 20.0  # the whole run, server or client shut down included
SETTLE_BOUND = 2.0  # longest the server may take to get back to its tasks before the run

_hypercorn_log = logging.getLogger("tests.chaos.hypercorn")


@dataclass
class Report:
    """Everything one run observed."""

    transport: str
    kind: str
    target: str
    delay: float | None = None
    outcome: Outcome = field(default_factory=Outcome)
    log: list[str] = field(default_factory=list)
    follow_up: tuple[int, bytes] | None = None
    tasks_left: int = 0
    problems: list[str] = field(default_factory=list)  # errors logged, unraisables, warnings

    @property
    def seen(self) -> str:
        """``504``, ``complete``, ``short`` (ended cleanly, body cut), ``cut``, ``left``, ``hang``."""
        out = self.outcome
        if out.status == 200 and out.body == expected_body(self.target) and out.ended != "hang":
            return "complete"  # every byte arrived, whatever the client did next
        if out.ended in ("left", "hang"):
            return out.ended
        if out.ended == "complete" and out.status in (503, 504):
            return str(out.status)
        if self.target.startswith("ws.") and out.ended == "complete":
            return f"closed {out.close_code}" if out.status == 101 else f"rejected {out.status}"
        if out.ended == "complete":
            return "complete" if out.body == expected_body(self.target) else "short"
        return "cut"


def phase_of(target: str) -> str:
    """``before`` the response starts, ``during`` its body, ``after`` its last byte."""
    if target in AFTER_RESPONSE:
        return "after"
    return "during" if target in AFTER_START else "before"


def expected_seen(transport: str, kind: str, target: str, delay: float | None = None) -> set[str]:
    """What the client may see for this run.

    With a ``delay`` the cancellation lands at ``target`` or at any later
    checkpoint, or after the request is over (``left`` and ``complete``).
    """
    if delay is not None:
        order = WEBSOCKET_CHECKPOINTS if target.startswith("ws.") else HTTP_CHECKPOINTS
        later = order[order.index(target) :]
        seen = {"complete", "left"} if kind == "disconnect" else {"complete"}
        if target.startswith("ws."):
            seen |= {"closed 1000"}
        return seen.union(*(expected_seen(transport, kind, t) for t in later))
    phase = phase_of(target)
    websocket = target.startswith("ws.")
    if kind in STOPS and phase != "after":
        if websocket:
            return {"closed 1001", "cut"}
        if target in THREAD_WAIT and transport in ("h11", "h2"):
            # The thread is held until the client has its answer: the
            # server's hard cancel cannot end the request; trioapi answers
            # 503 over HTTP/1.1 and resets the HTTP/2 stream.
            return {"503"} if transport == "h11" else {"cut"}
        # A request still in a teardown shielded from the hard cancel, with
        # no response started, is answered 503 for it over HTTP/1.1.
        answered = {"503"} if transport == "h11" and phase == "before" else set()
        if kind == "shutdown":  # the request goes on; streams stop at their next chunk
            return {"complete", "short"} | answered
        return {"cut", "short"} | answered
    if websocket:
        if kind == "disconnect":
            return {"left"}
        if kind == "cancel" and transport == "async_client":
            return {"cut"}  # the test's cancel scope cut the client itself
        return {"closed 1000"} if phase == "after" else {"closed 1001", "cut"}
    if phase == "after":
        return {"complete"}
    if kind == "disconnect":
        return {"left"}
    return {"504"} if phase == "before" else {"cut", "short"}


def problems_of(report: Report) -> list[str]:
    """Everything wrong with a run (an empty list: it passed)."""
    found = list(report.problems)
    try:
        check_log(report.log)
    except AssertionError as error:
        found.append(f"event log: {error}")
    if f"reached {report.target}" not in report.log:
        found.append(f"never reached {report.target}: {report.log}")
    expected = expected_seen(report.transport, report.kind, report.target, report.delay)
    if report.seen not in expected:
        found.append(f"client saw {report.seen} ({report.outcome}), expected one of {expected}")
    if report.kind not in STOPS and report.follow_up != (200, b"pong"):
        found.append(f"follow-up request got {report.follow_up}")
    if report.tasks_left:
        found.append(f"{report.tasks_left} tasks left behind")
    return found


class _Collect(logging.Handler):
    def __init__(self, into: list[str]) -> None:
        super().__init__(logging.ERROR)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        self.into.append(f"logged: {record.name}: {record.getMessage()} {record.exc_info!r}")


@contextmanager
def collect_problems(into: list[str]) -> Iterator[None]:
    """Record error log records, unraisable exceptions and warnings raised in the block."""
    handler = _Collect(into)
    root = logging.getLogger()
    root.addHandler(handler)
    old_hook = sys.unraisablehook

    def unraisable(info: Any) -> None:
        into.append(f"unraisable: {info.exc_value!r} in {info.object!r}")

    sys.unraisablehook = unraisable
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            # httpx leaves its own inner generators to the finalizer (see pyproject.toml).
            warnings.filterwarnings("ignore", "Async generator 'httpx\\.", ResourceWarning)
            try:
                yield
            finally:
                gc.collect()
        into.extend(f"warning: {w.category.__name__}: {w.message}" for w in caught)
    finally:
        sys.unraisablehook = old_hook
        root.removeHandler(handler)


def count_tasks() -> int:
    """Tasks alive in this Trio run."""

    def walk(task: trio.lowlevel.Task) -> int:
        return 1 + sum(walk(child) for n in task.child_nurseries for child in n.child_tasks)

    return walk(trio.lowlevel.current_root_task())


async def settled_count(floor: int | None = None) -> int:
    """The task count once the run is quiet (down to ``floor`` if given, within a bound)."""
    with trio.move_on_after(SETTLE_BOUND):
        while True:
            await trio.testing.wait_all_tasks_blocked()
            count = count_tasks()
            if floor is None or count <= floor:
                return count
            await trio.sleep(0.01)
    return count_tasks()


async def _first(*waits: Callable[[], Awaitable[object]]) -> None:
    async with trio.open_nursery() as nursery:

        async def one(wait: Callable[[], Awaitable[object]]) -> None:
            await wait()
            nursery.cancel_scope.cancel()

        for wait in waits:
            nursery.start_soon(one, wait)


async def run_case(transport: str, kind: str, target: str, delay: float | None = None) -> Report:
    """Run one request of ``transport`` cancelled by ``kind`` at checkpoint ``target``.

    With ``delay``, the request does not stop at ``target``: the cancellation
    comes ``delay`` seconds after it passed there.
    """
    report = Report(transport, kind, target, delay)
    run = ChaosRun(target, kind, delay)
    with collect_problems(report.problems), trio.move_on_after(RUN_BOUND) as whole_run:
        if transport in SERVED:
            await _run_served(report, run)
        elif transport == "async_client":
            await _run_async_client(report, run)
        else:
            await _run_sync_client(report, run)
    if whole_run.cancelled_caught:
        run.release.set()
        report.problems.append(f"the run did not end within {RUN_BOUND} s")
    report.log = list(run.log)
    return report


async def _run_served(report: Report, run: ChaosRun) -> None:
    state = ChaosState()
    stop = trio.Event()
    grace = GRACEFUL_TIMEOUT.get(run.kind, 0.05)
    settings = {"graceful_timeout": grace, "errorlog": _hypercorn_log}
    async with run_hypercorn(build_app(state), stop=stop, **settings) as url:
        await h11_get(url, "/ping")  # the watchdog and the app's tasks are up
        baseline = await settled_count()
        state.run = run
        drive = {"h11": _drive_h11, "h2": _drive_h2, "ws": _drive_ws}[report.transport]
        with trio.move_on_after(CLIENT_BOUND) as bound:
            await drive(report, run, url, stop)
        if bound.cancelled_caught:
            report.outcome.ended = "hang"
        run.client_done.set()
        if run.kind not in STOPS:
            if report.follow_up is None:
                with trio.move_on_after(CLIENT_BOUND):
                    report.follow_up = await h11_get(url, "/ping")
            report.tasks_left = max(0, await settled_count(baseline) - baseline)
    run.release.set()


def _cancellable(
    nursery: trio.Nursery, job: Callable[..., Awaitable[object]], *args: Any
) -> trio.CancelScope:
    """Start ``job`` in ``nursery`` inside a cancel scope of its own, and return the scope."""
    scope = trio.CancelScope()

    async def run_job() -> None:
        with scope:
            await job(*args)

    nursery.start_soon(run_job)
    return scope


async def _inject(run: ChaosRun, stop: trio.Event, leave: Callable[[], Awaitable[None]]) -> None:
    if run.delay is not None and run.kind != "deadline":
        await trio.sleep(run.delay)
    if run.kind == "disconnect":
        await leave()
    elif run.kind in STOPS:
        stop.set()
    run.injected.set()


async def _drive_h11(report: Report, run: ChaosRun, url: str, stop: trio.Event) -> None:
    stream = await _open(url)
    client = H11Client(stream)
    report.outcome = client.outcome
    async with stream, trio.open_nursery() as nursery:
        exchange = _cancellable(nursery, client.exchange, run)
        await _first(run.gate(run.target).wait, client.done.wait)

        async def leave() -> None:
            exchange.cancel()
            if client.outcome.ended != "complete":
                client.outcome.ended = "left"
            await stream.aclose()

        await _inject(run, stop, leave)


async def _drive_ws(report: Report, run: ChaosRun, url: str, stop: trio.Event) -> None:
    stream = await _open(url)
    client = WsClient(stream)
    report.outcome = client.outcome
    async with stream, trio.open_nursery() as nursery:
        exchange = _cancellable(nursery, client.exchange, run)
        await _first(run.gate(run.target).wait, client.done.wait)

        async def leave() -> None:
            exchange.cancel()
            client.outcome.ended = "left"
            await stream.aclose()

        await _inject(run, stop, leave)


async def _drive_h2(report: Report, run: ChaosRun, url: str, stop: trio.Event) -> None:
    async with await _open(url) as stream, trio.open_nursery() as nursery:
        client = H2Client(stream)
        client.conn.initiate_connection()
        await client.flush()
        nursery.start_soon(client.run_reader)
        stream_ids: list[int] = []
        done = trio.Event()

        async def exchange() -> None:
            stream_ids.append(await client.exchange(run))
            done.set()

        async with trio.open_nursery() as request:
            exchange_scope = _cancellable(request, exchange)
            await _first(run.gate(run.target).wait, done.wait)
            report.outcome = client.outcomes[1]

            async def leave() -> None:
                exchange_scope.cancel()
                if report.outcome.ended != "complete":
                    report.outcome.ended = "left"
                    await client.reset(1)

            await _inject(run, stop, leave)
        # The follow-up shares the connection: it shows a reset left it usable.
        if run.kind not in STOPS and not client.closed:
            ping = await client.open_stream("GET", "/ping", body_length=None)
            seen = await client.wait_over(ping)
            report.follow_up = (seen.status or 0, seen.body)
        elif not client.closed:
            await client.wait_over(1)
        nursery.cancel_scope.cancel()


async def _run_async_client(report: Report, run: ChaosRun) -> None:
    state = ChaosState()
    outcome = report.outcome
    with trio.CancelScope() as whole_client:
        async with AsyncTestClient(build_app(state)) as client:
            await client.get("/ping")
            baseline = await settled_count()
            state.run = run
            done = trio.Event()
            try:
                with trio.move_on_after(CLIENT_BOUND) as bound:
                    async with trio.open_nursery() as nursery:
                        talk = _async_socket if run.target.startswith("ws.") else _async_request
                        request = talk(client, run, outcome, done)
                        request_scope = _cancellable(nursery, request)
                        await _first(run.gate(run.target).wait, done.wait)
                        if run.delay is not None and run.kind != "deadline":
                            await trio.sleep(run.delay)
                        if run.kind == "disconnect" and outcome.ended != "complete":
                            outcome.ended = "left"
                            request_scope.cancel()
                        elif run.kind == "cancel":
                            whole_client.cancel()
                        run.injected.set()
                if bound.cancelled_caught:
                    outcome.ended = "hang"
            finally:
                run.client_done.set()
            with trio.move_on_after(CLIENT_BOUND):
                response = await client.get("/ping")
                report.follow_up = (response.status_code, response.content)
            report.tasks_left = max(0, await settled_count(baseline) - baseline)
    run.release.set()


def _async_request(
    client: AsyncTestClient, run: ChaosRun, outcome: Outcome, done: trio.Event
) -> Callable[[], Awaitable[None]]:
    async def request() -> None:
        try:
            body = b"".join(BODY_CHUNKS)
            async with client.stream("POST", route_for(run.target), content=body) as response:
                outcome.status = response.status_code
                async for chunk in response.aiter_bytes():
                    outcome.body += chunk
                outcome.ended = "complete"
        except Exception as error:  # a cut stream, as the test client reports it
            outcome.notes.append(repr(error))
        finally:
            done.set()

    return request


def _async_socket(
    client: AsyncTestClient, run: ChaosRun, outcome: Outcome, done: trio.Event
) -> Callable[[], Awaitable[None]]:
    async def talk() -> None:
        try:
            async with client.websocket_connect("/ws") as socket:
                outcome.status = 101
                if run.target != "ws.receive":
                    await run.gate("ws.receive").wait()
                    await socket.send_text("hi")
                outcome.body = (await socket.receive_text()).encode()
                await socket.receive_text()  # raises at the app's close
        except WebSocketDisconnect as closed:
            outcome.close_code = closed.code
            outcome.ended = "complete"
        except Exception as error:  # a denial, or the app's own error
            outcome.notes.append(repr(error))
        finally:
            done.set()

    return talk


async def _run_sync_client(report: Report, run: ChaosRun) -> None:
    state = ChaosState()
    app = build_app(state)
    with trio.move_on_after(CLIENT_BOUND) as bound:
        await trio.to_thread.run_sync(
            _sync_exchange, app, state, run, report, abandon_on_cancel=True
        )
    if bound.cancelled_caught:
        report.outcome.ended = "hang"
        run.client_done.set()
        run.release.set()


def _sync_exchange(app: Any, state: ChaosState, run: ChaosRun, report: Report) -> None:
    outcome = report.outcome
    with TestClient(app) as client:
        client.get("/ping")
        state.run = run
        body = b"".join(BODY_CHUNKS)
        with client.stream("POST", route_for(run.target), content=body) as response:
            outcome.status = response.status_code
            leaver = threading.Thread(target=_leave_when_reached, args=(run, response, outcome))
            if run.kind == "disconnect":
                leaver.start()
            try:
                for chunk in response.iter_bytes():
                    outcome.body += chunk
                if outcome.ended != "left":
                    outcome.ended = "complete"
            except Exception as error:  # the leaver closed the response under the reader
                outcome.notes.append(repr(error))
            finally:
                if leaver.is_alive():
                    run.gate(run.target).set()  # the target was never reached: stop waiting
                    leaver.join()
        run.client_done.set()
        response = client.get("/ping")
        report.follow_up = (response.status_code, response.content)
    run.release.set()


def _leave_when_reached(run: ChaosRun, response: Any, outcome: Outcome) -> None:
    run.gate(run.target).wait_blocking(CLIENT_BOUND)
    if run.delay is not None:
        time.sleep(run.delay)
    if f"reached {run.target}" in run.log:
        outcome.ended = "left"
        run.injected.set()
        response.close()
