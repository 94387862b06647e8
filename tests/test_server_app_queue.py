"""The app's queue without a scheduler pass per message (fix app-queue-nowait).

A put must do what the memory channel's ``send()`` does, apart from the
pass through the scheduler when the queue has room: raise a pending
cancellation before queuing, keep the order, and wait for room when the
queue is full. Through hypercorn, an app still gets every body message and
the disconnect.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import trio
import trio.testing

from tests.serving import needs_fix, run_hypercorn
from trioapi import Request, TrioAPI
from trioapi.server._app_queue import NowaitAppQueue, nowait_put


async def test_a_put_with_room_queues_without_a_scheduler_pass():
    send, receive = trio.open_memory_channel[Any](10)
    ran: list[str] = []

    async def other_task() -> None:
        ran.append("other task")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(other_task)  # runs at the next pass through the scheduler
        put = nowait_put(send)
        await put({"type": "http.request", "body": b"a", "more_body": True})
        await put({"type": "http.request", "body": b"", "more_body": False})
        assert ran == []
    assert [receive.receive_nowait()["more_body"] for _ in range(2)] == [True, False]


async def test_the_disconnect_is_put_with_a_scheduler_pass_so_the_app_runs_first():
    # At a graceful shutdown the reader closes the connection right after the
    # disconnect: the app must get its turn to end its stream before that.
    send, receive = trio.open_memory_channel[Any](10)
    steps = _TaskSteps(trio.lowlevel.current_task())
    trio.lowlevel.add_instrument(steps)
    try:
        put = nowait_put(send)
        await put({"type": "http.request", "body": b"", "more_body": False})
        assert steps.count == 0
        await put({"type": "http.disconnect"})
        assert steps.count == 1
    finally:
        trio.lowlevel.remove_instrument(steps)
    assert [receive.receive_nowait()["type"] for _ in range(2)] == [
        "http.request",
        "http.disconnect",
    ]


class _TaskSteps(trio.abc.Instrument):
    """Counts how often one task is scheduled again: its passes through the scheduler."""

    def __init__(self, task: trio.lowlevel.Task) -> None:
        self.task = task
        self.count = 0

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        if task is self.task:
            self.count += 1


async def test_a_cancelled_put_raises_and_queues_nothing():
    send, receive = trio.open_memory_channel[Any](10)
    with trio.CancelScope() as scope:
        scope.cancel()
        with pytest.raises(trio.Cancelled):
            await nowait_put(send)({"type": "http.disconnect"})
    with pytest.raises(trio.WouldBlock):
        receive.receive_nowait()


async def test_a_put_on_a_full_queue_waits_for_room_and_keeps_the_order():
    send, receive = trio.open_memory_channel[Any](1)
    put = nowait_put(send)
    done: list[int] = []

    async def reader() -> None:
        await put(1)
        await put(2)  # the queue is full: waits until the app takes 1
        done.append(2)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(reader)
        await trio.testing.wait_all_tasks_blocked()
        assert done == []
        assert await receive.receive() == 1
        assert await receive.receive() == 2
    assert done == [2]


async def test_the_task_group_hands_out_the_put_and_the_app_gets_its_messages():
    received: list[str] = []

    async def app(scope: Any, receive: Any, send: Any, *_: Any) -> None:
        # hypercorn's wrapped app: (scope, receive, send, sync_spawn, call_soon)
        received.append((await receive())["type"])

    async with NowaitAppQueue() as group:
        put = await group.spawn_app(app, _Config(), {"type": "http"}, _ignore)
        assert put.__qualname__.startswith("nowait_put")
        await put({"type": "http.disconnect"})
    assert received == ["http.disconnect"]


class _Config:
    max_app_queue_size = 10


async def _ignore(message: Any) -> None:
    del message


def echo_app() -> TrioAPI:
    app = TrioAPI()

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"length": len(await request.body())}

    return app


@needs_fix("app-queue-nowait")
@pytest.mark.parametrize("http2", [False, True], ids=["HTTP/1.1", "HTTP/2"])
async def test_through_hypercorn_a_body_of_many_messages_arrives_whole(http2):
    body = b"x" * 3_000_000  # many more messages than the queue holds

    async def chunks():  # type: ignore[no-untyped-def]
        for start in range(0, len(body), 16_384):
            yield body[start : start + 16_384]

    async with run_hypercorn(echo_app()) as url:
        async with httpx.AsyncClient(
            base_url=url, http1=not http2, http2=http2, timeout=20
        ) as client:
            for _ in range(2):
                answer = await client.post("/echo", content=chunks())
                assert (answer.status_code, answer.json()) == (200, {"length": len(body)})
