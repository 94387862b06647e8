"""Fix ``app-queue-nowait``: a message put on an app's queue that has room is no pass through the scheduler.

hypercorn 0.17/0.18's trio ``TaskGroup.spawn_app`` gives each request's
app a memory channel, and the connection's reading task puts each
``http.request`` message and the ``http.disconnect`` on it with the
channel's ``send()``. A memory channel's ``send()`` that finds room (the
usual case: the queue holds ``max_app_queue_size`` messages, 10 by default)
still ends with a pass through Trio's scheduler: two per small request, in
the task that reads the connection (``docs/hypercorn-trio-throughput.md``).

:class:`NowaitAppQueue` hands hypercorn a put that makes the same
cancellation check as ``send()`` (a cancelled reader still raises
``Cancelled`` before anything is queued), queues the message with
``send_nowait()`` when there is room, and otherwise waits in ``send()`` as
before, so a full queue holds the reader back exactly as it did. The app
receives the same messages in the same order. ``http.disconnect`` still goes
through ``send()`` with its pass, so the app runs on it before the reader
goes on: at a graceful shutdown over HTTP/2 the reader closes the connection
next, and without the pass a stream the app was ending cleanly was cut
(tests/test_chaos.py, h2-shutdown-response.start, about 1 run in 5).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import trio
from hypercorn.trio.task_group import TaskGroup

from trioapi.server._extend import extension_fix

__all__ = ["FIX", "NowaitAppQueue", "nowait_put"]


def nowait_put(channel: trio.MemorySendChannel[Any]) -> Callable[[Any], Awaitable[None]]:
    """``channel.send`` without the scheduler pass when the channel has room."""
    send_nowait = channel.send_nowait

    async def put(message: Any) -> None:
        if isinstance(message, dict) and message.get("type") == "http.disconnect":
            # As before, with the pass: the app runs on its disconnect (ends a
            # stream it is cutting short) before the reader goes on to close
            # the connection; without it a graceful shutdown could cut an
            # HTTP/2 stream the app was ending.
            await channel.send(message)
            return
        await trio.lowlevel.checkpoint_if_cancelled()
        try:
            send_nowait(message)
        except trio.WouldBlock:
            await channel.send(message)  # a full queue: wait for room, as before

    return put


class NowaitAppQueue(TaskGroup):
    """hypercorn's trio ``TaskGroup`` whose app queues take a message without a scheduler pass."""

    async def spawn_app(self, *args: Any, **kwargs: Any) -> Any:
        put = await super().spawn_app(*args, **kwargs)
        channel = getattr(put, "__self__", None)
        if type(channel) is not trio.MemorySendChannel or put.__name__ != "send":
            return put  # not the channel's send: leave it as it is
        return nowait_put(channel)


FIX = extension_fix(
    name="app-queue-nowait",
    changes="TaskGroup.spawn_app's queue puts a body message that fits without a pass "
    "through the scheduler (one per request; the disconnect keeps its pass)",
    releases=("0.17", "0.18"),
    where="hypercorn.trio.tcp_server:TaskGroup",
    extension=NowaitAppQueue,
)
