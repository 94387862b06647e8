from __future__ import annotations

import threading

import pytest
import trio

from trioapi.concurrency import (
    run_in_threadpool,
    run_until_first_complete,
    set_thread_limit,
    thread_limiter,
)
from trioapi.exceptions import TrioAPIDeprecationWarning


async def test_run_until_first_complete_cancels_the_others_when_one_returns():
    log: list[str] = []

    async def quick(name: str) -> None:
        log.append(name)

    async def forever() -> None:
        await trio.sleep_forever()

    with pytest.warns(TrioAPIDeprecationWarning, match="run_until_first_complete is deprecated"):
        await run_until_first_complete((forever, {}), (quick, {"name": "quick"}))

    assert log == ["quick"]


def test_each_trio_run_gets_its_own_thread_limiter():
    holding, release = threading.Event(), threading.Event()

    def hold_a_slot() -> None:
        holding.set()
        release.wait(10)

    async def limiter_of_this_run(hold: bool) -> tuple[trio.CapacityLimiter, int]:
        limiter = thread_limiter()
        assert thread_limiter() is limiter  # one per run, made on first use
        if hold:
            await run_in_threadpool(hold_a_slot)
        return limiter, int(limiter.borrowed_tokens)

    # While one loop holds a thread slot, another loop's limiter is a
    # different one, with every slot free.
    first: list[tuple[trio.CapacityLimiter, int]] = []
    thread = threading.Thread(target=lambda: first.append(trio.run(limiter_of_this_run, True)))
    thread.start()
    try:
        assert holding.wait(10)
        second, borrowed = trio.run(limiter_of_this_run, False)
        assert borrowed == 0
    finally:
        release.set()
        thread.join()
    assert first[0][0] is not second
    assert trio.run(limiter_of_this_run, False)[0] is not second


def test_set_thread_limit_applies_to_the_running_loop_and_to_later_ones():
    async def limit_after(total: int | None) -> int:
        if total is not None:
            set_thread_limit(total)
        return int(thread_limiter().total_tokens)

    try:
        assert trio.run(limit_after, 7) == 7
        assert trio.run(limit_after, None) == 7
        set_thread_limit(3)  # outside any loop: the limit of the loops to come
        assert trio.run(limit_after, None) == 3
    finally:
        set_thread_limit(40)
    assert trio.run(limit_after, None) == 40


def test_thread_limiter_outside_a_trio_run_is_an_error():
    with pytest.raises(RuntimeError, match="outside of a run context"):
        thread_limiter()
