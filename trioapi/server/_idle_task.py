"""Fix ``idle-task``: hypercorn's per-connection idle timeout without a task spawned per request.

Hypercorn 0.17/0.18's trio ``TCPServer`` keeps each connection's idle
timeout in a ``TrioSingleTask``. Its ``restart()`` cancels the running task
and starts a new one with ``nursery.start()``, and the protocols restart or
stop it twice per request on a connection with one request in flight: a
task spawned, started and cancelled per request, a fifth to a third of the
server's CPU for a small request on our machine (``bench/hypercorn_idle.py``,
``docs/hypercorn-trio-throughput.md``). A speed-up, not a correctness fix.

Here each connection's idle timeout runs in one long-lived task instead
(:class:`ReusableSingleTask`): a restart cancels the running action and
hands the task the new one, a stop cancels it, and the task ends when the
connection stops reading (``_read_data`` returns), so it never holds the
connection's task group open. ``TrioSingleTask`` itself, which hypercorn's
QUIC connections also use, is left as it is.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import trio
from hypercorn.trio.tcp_server import TCPServer
from hypercorn.trio.worker_context import TrioSingleTask

from trioapi.server._extend import extension_fix, init_sets

__all__ = ["FIX", "ReusableIdleTask", "ReusableSingleTask"]


class ReusableSingleTask:
    """One action at a time, run by one long-lived task: ``TrioSingleTask`` without a spawn per restart.

    ``restart(task_group, action)`` cancels the running action and runs
    ``action`` next; ``stop()`` cancels the running action; :meth:`close`
    ends the task (the owner is done with it). The task starts on the first
    restart, in that task group.
    """

    def __init__(self) -> None:
        self._action: Callable[[], Awaitable[None]] | None = None
        self._running: trio.CancelScope | None = None
        self._wakeup: trio.Event | None = None
        self._started = False
        self._closed = False

    async def restart(self, task_group: Any, action: Callable[[], Awaitable[None]]) -> None:
        """Cancel the running action, if any, and run ``action`` instead. Not a checkpoint."""
        if self._closed:
            return
        self._action = action
        self._cancel_running()
        if not self._started:
            self._started = True
            task_group._nursery.start_soon(self._run)

    async def stop(self) -> None:
        """Cancel the running action, if any. Not a checkpoint."""
        self._action = None
        self._cancel_running()

    def close(self) -> None:
        """Cancel the running action and end the task."""
        self._closed = True
        self._action = None
        self._cancel_running()

    def _cancel_running(self) -> None:
        if self._running is not None:
            self._running.cancel()
        if self._wakeup is not None:
            self._wakeup.set()

    async def _run(self) -> None:
        while not self._closed:
            action = self._action
            if action is None:
                self._wakeup = trio.Event()
                await self._wakeup.wait()
                self._wakeup = None
                continue
            # Nothing awaits between taking the action and entering its
            # scope, so a restart cannot slip in unseen.
            with trio.CancelScope() as self._running:
                await action()
            self._running = None
            if self._action is action:
                self._action = None  # done, or cancelled without a successor


class ReusableIdleTask(TCPServer):
    """hypercorn's ``TCPServer`` with a :class:`ReusableSingleTask` as its idle task."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Duck-typed for TrioSingleTask: restart(task_group, action) and stop().
        self.idle_task = ReusableSingleTask()  # type: ignore[assignment]

    async def _read_data(self) -> None:
        try:
            await super()._read_data()
        finally:
            idle_task: Any = self.idle_task
            if isinstance(idle_task, ReusableSingleTask):
                idle_task.close()


def _check_single_task() -> str | None:
    """The idle task's callers use ``restart(task_group, action)`` and ``stop()``, as replaced."""
    for method, parameters in (("restart", ["self", "task_group", "action"]), ("stop", ["self"])):
        found = getattr(TrioSingleTask, method, None)
        if found is None or list(inspect.signature(found).parameters) != parameters:
            return f"TrioSingleTask.{method} is not {method}({', '.join(parameters[1:])})"
    return init_sets(TCPServer, "idle_task")


FIX = extension_fix(
    name="idle-task",
    changes="each connection's idle timeout runs in one long-lived task, not a task per request",
    releases=("0.17", "0.18"),
    where="hypercorn.trio.run:TCPServer",
    extension=ReusableIdleTask,
    also_check=_check_single_task,
)
