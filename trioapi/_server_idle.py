"""A cheaper idle-timeout task for hypercorn's trio worker (applied with the ``_server`` fix).

Hypercorn 0.17/0.18's trio ``TCPServer`` keeps each connection's idle
timeout in a ``TrioSingleTask``. Its ``restart()`` cancels the running task
and starts a new one with ``nursery.start()``, and the protocols restart or
stop it twice per request on a connection with one request in flight: a
task spawned, started and cancelled per request, a fifth to a third of the
server's CPU for a small request on our machine (``bench/hypercorn_idle.py``,
``docs/hypercorn-trio-throughput.md``).

Here each connection's idle timeout runs in one long-lived task instead
(:class:`ReusableSingleTask`): a restart cancels the running action and
hands the task the new one, a stop cancels it, and the task ends when the
connection stops reading (``TCPServer._read_data`` returns), so it never
holds the connection's task group open. ``TrioSingleTask`` itself, which
hypercorn's QUIC connections also use, is left as it is.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import trio

__all__ = ["ReusableSingleTask", "end_idle_task_after_reading", "patch_idle_task"]

_PATCH_MARK = "__trioapi_patched__"


def patch_idle_task() -> bool:
    """Give ``TCPServer`` connections a :class:`ReusableSingleTask` (once).

    Returns:
        ``True`` if the change is in place, ``False`` if hypercorn's code has
        another shape (nothing is changed).
    """
    from hypercorn.trio import tcp_server

    server_class: Any = getattr(tcp_server, "TCPServer", None)
    read_data = getattr(server_class, "_read_data", None)
    if read_data is None:
        return False
    if getattr(read_data, _PATCH_MARK, False):
        return True
    if not hasattr(getattr(tcp_server, "TrioSingleTask", None), "restart"):
        return False
    # TCPServer makes its idle task from this module global.
    setattr(tcp_server, "TrioSingleTask", ReusableSingleTask)  # noqa: B010 - not its own name
    server_class._read_data = end_idle_task_after_reading(read_data)
    return True


def end_idle_task_after_reading(
    read_data: Callable[[Any], Awaitable[None]],
) -> Callable[[Any], Awaitable[None]]:
    """``TCPServer._read_data`` that then ends the connection's :class:`ReusableSingleTask`."""

    async def read_data_then_end_idle_task(self: Any) -> None:
        try:
            await read_data(self)
        finally:
            if isinstance(self.idle_task, ReusableSingleTask):
                self.idle_task.close()

    read_data_then_end_idle_task.__trioapi_patched__ = True  # type: ignore[attr-defined]
    return read_data_then_end_idle_task


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
