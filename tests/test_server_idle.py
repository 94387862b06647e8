"""hypercorn's trio idle-timeout task without a task spawned per restart (fix idle-task, trioapi.server._idle_task).

The replacement must behave as the original: a restart cancels the running
action and runs the new one, a stop cancels it, and through a real server a
kept-alive connection is closed after ``keep_alive_timeout`` of idleness but
never while a request is in flight, and a closed connection does not hold
up shutdown.
"""

from __future__ import annotations

from typing import Any

import pytest
import trio
from hypercorn.trio.worker_context import TrioSingleTask

from tests.serving import needs_fix, run_hypercorn
from tests.test_teardown_served import host_port
from trioapi import TrioAPI
from trioapi.server._idle_task import ReusableSingleTask


class FakeTaskGroup:
    def __init__(self, nursery: trio.Nursery) -> None:
        self._nursery = nursery


def timed_action(events: list[tuple[str, float]], name: str, seconds: float) -> Any:
    async def action() -> None:
        events.append((f"{name} started", trio.current_time()))
        try:
            await trio.sleep(seconds)
            events.append((f"{name} done", trio.current_time()))
        except trio.Cancelled:
            events.append((f"{name} cancelled", trio.current_time()))
            raise

    return action


VERSIONS = ["reusable", "hypercorn"]


def single_task(version: str) -> Any:
    """trioapi's ``ReusableSingleTask``, or hypercorn's own ``TrioSingleTask`` to hold it to."""
    return ReusableSingleTask() if version == "reusable" else TrioSingleTask()


def close(task: Any) -> None:
    if isinstance(task, ReusableSingleTask):
        task.close()  # its owner ends it (TCPServer, when it stops reading)


@pytest.mark.parametrize("version", VERSIONS)
async def test_restart_cancels_the_running_action_and_stop_cancels_it(autojump_clock, version):
    events: list[tuple[str, float]] = []
    task = single_task(version)
    async with trio.open_nursery() as nursery:
        group = FakeTaskGroup(nursery)
        await task.restart(group, timed_action(events, "first", 10))
        await trio.sleep(1)
        await task.restart(group, timed_action(events, "second", 10))
        await trio.sleep(11)
        await task.restart(group, timed_action(events, "third", 10))
        await trio.sleep(2)
        await task.stop()
        await task.stop()  # stopping twice is harmless
        close(task)
    # Sorted: what happens at one moment runs in the scheduler's order.
    assert sorted(events, key=lambda event: (event[1], event[0])) == [
        ("first started", 0),
        ("first cancelled", 1),
        ("second started", 1),
        ("second done", 11),
        ("third started", 12),
        ("third cancelled", 14),
    ]


@pytest.mark.parametrize("version", VERSIONS)
async def test_an_action_cancelled_at_once_never_gets_past_a_checkpoint(autojump_clock, version):
    events: list[tuple[str, float]] = []
    task = single_task(version)
    async with trio.open_nursery() as nursery:
        await task.restart(FakeTaskGroup(nursery), timed_action(events, "only", 10))
        await task.stop()
        await trio.sleep(20)
        close(task)
    if version == "reusable":
        assert events == []  # the long-lived task never got to it
    else:  # a fresh task runs it up to its first checkpoint
        assert events == [("only started", 0), ("only cancelled", 0)]


async def test_closing_a_reusable_task_ends_it_and_its_action(autojump_clock):
    events: list[tuple[str, float]] = []
    task = ReusableSingleTask()
    async with trio.open_nursery() as nursery:
        await task.restart(FakeTaskGroup(nursery), timed_action(events, "only", 10))
        await trio.sleep(1)
        task.close()
        await task.restart(FakeTaskGroup(nursery), timed_action(events, "late", 10))
    assert events == [("only started", 0), ("only cancelled", 1)]
    assert trio.current_time() == 1  # the nursery did not wait for anything


def slow_app(seconds: float) -> TrioAPI:
    app = TrioAPI()

    @app.get("/slow")
    async def slow() -> dict[str, bool]:
        await trio.sleep(seconds)
        return {"ok": True}

    @app.get("/quick")
    async def quick() -> dict[str, bool]:
        return {"ok": True}

    return app


async def read_response(stream: trio.SocketStream) -> bytes:
    data = b""
    while b'{"ok":true}' not in data:
        chunk = await stream.receive_some()
        assert chunk, f"connection closed mid-response: {data!r}"
        data += chunk
    return data


@needs_fix("idle-task")
async def test_through_hypercorn_an_idle_connection_is_closed_but_a_busy_one_is_not():
    # keep_alive_timeout 0.3 s; a request of 0.6 s on the same connection is
    # answered (the idle task is stopped while busy), and afterwards the
    # idle connection is closed by the server.
    async with run_hypercorn(slow_app(0.6), keep_alive_timeout=0.3) as url:
        host, port = host_port(url)
        stream = await trio.open_tcp_stream(host, port)
        with trio.fail_after(5):
            await stream.send_all(b"GET /quick HTTP/1.1\r\nHost: a\r\n\r\n")
            assert b"200" in await read_response(stream)
            await stream.send_all(b"GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
            assert b"200" in await read_response(stream)
            idle_since = trio.current_time()
            assert await stream.receive_some() == b""  # the server hung up
        idle_for = trio.current_time() - idle_since
        await stream.aclose()
    assert 0.2 <= idle_for < 2.0


@needs_fix("idle-task")
async def test_through_hypercorn_a_closed_connection_does_not_hold_up_shutdown():
    # The connection's long-lived idle task ends when the client leaves; a
    # task left waiting would keep hypercorn's shutdown waiting for
    # graceful_timeout (60 s here).
    started = trio.current_time()
    async with run_hypercorn(slow_app(0), keep_alive_timeout=60, graceful_timeout=60) as url:
        host, port = host_port(url)
        for _ in range(3):
            stream = await trio.open_tcp_stream(host, port)
            await stream.send_all(b"GET /quick HTTP/1.1\r\nHost: a\r\n\r\n")
            assert b"200" in await read_response(stream)
            await stream.aclose()
        await trio.sleep(0.1)
    assert trio.current_time() - started < 10
