"""The request watchdog belongs to the lifespan: made with it, handed to requests, gone after it."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import trio

from trioapi import TrioAPI
from trioapi._watchdog import WATCH_AFTER, RequestWatchdog
from trioapi.testing import AsyncTestClient


def live_watchdogs() -> list[RequestWatchdog]:
    gc.collect()
    return [found for found in gc.get_objects() if isinstance(found, RequestWatchdog)]


def task_names() -> Iterator[str]:
    def walk(task: trio.lowlevel.Task) -> Iterator[str]:
        yield task.name
        for nursery in task.child_nurseries:
            for child in nursery.child_tasks:
                yield from walk(child)

    return walk(trio.lowlevel.current_root_task())


def slow_app() -> TrioAPI:
    app = TrioAPI()

    @app.get("/slow")
    async def slow():
        # Older than WATCH_AFTER: the watchdog starts the request's pump.
        await trio.sleep(WATCH_AFTER * 4)
        return {"ok": True}

    return app


async def test_the_watchdog_lives_as_long_as_the_lifespan(autojump_clock):
    before = len(live_watchdogs())
    app = slow_app()
    async with AsyncTestClient(app) as client:
        assert (await client.get("/slow")).json() == {"ok": True}
        assert len(live_watchdogs()) == before + 1
        assert any("RequestWatchdog._run" in name for name in task_names())
    # The lifespan is over: its watchdog's task has ended and nothing keeps
    # the watchdog (or the nursery it holds) alive.
    assert not any("RequestWatchdog._run" in name for name in task_names())
    assert len(live_watchdogs()) == before


async def test_each_lifespan_gets_a_watchdog_of_its_own(autojump_clock):
    app = slow_app()
    seen: list[RequestWatchdog] = []
    for _ in range(2):
        async with AsyncTestClient(app) as client:
            assert (await client.get("/slow")).status_code == 200
            seen.extend(watchdog for watchdog in live_watchdogs() if watchdog not in seen)
    assert len(seen) == 2
    assert seen[0].nursery is not seen[1].nursery


async def test_requests_without_a_lifespan_make_no_watchdog(autojump_clock):
    before = len(live_watchdogs())
    app = slow_app()
    async with AsyncTestClient(app, lifespan=False) as client:
        assert (await client.get("/slow")).status_code == 200
        assert len(live_watchdogs()) == before
