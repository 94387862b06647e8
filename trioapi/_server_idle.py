"""A cheaper idle-timeout task for hypercorn's trio worker (applied with the ``_server`` fix).

Hypercorn 0.17/0.18's trio ``TCPServer`` keeps each connection's idle
timeout in a ``TrioSingleTask``. Its ``restart()`` cancels the running task
and starts a new one with ``nursery.start()``, and the protocols restart or
stop it twice per request on a connection with one request in flight. The
handshake of ``nursery.start()`` (the caller waits until the new task has
run up to ``task_status.started()``) is part of that cost: without it an
HTTP/2 request took 40 to 90 µs less of the server's CPU (of ~700) on our
machine; for HTTP/1.1 the difference was within the machine's noise
(``bench/hypercorn_idle.py``, ``docs/hypercorn-trio-throughput.md``).

The replacement behaves the same: the caller makes the new task's cancel
scope and spawns it with ``start_soon``. A scope cancelled before its task
enters it cancels that task at its first checkpoint, as cancelling the
started task did. Nothing awaits between cancelling the old task and
recording the new one, so the lock the original held across the handshake
is not needed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import trio

__all__ = ["patch_idle_task"]

_PATCH_MARK = "__trioapi_patched__"


def patch_idle_task() -> bool:
    """Replace ``TrioSingleTask.restart``/``stop`` (once); ``False`` if their shape is unknown."""
    from hypercorn.trio import worker_context

    task_class: Any = getattr(worker_context, "TrioSingleTask", None)
    if task_class is None or not hasattr(task_class, "restart"):
        return False
    if getattr(task_class.restart, _PATCH_MARK, False):
        return True
    # Kept so tests can hold the replacement to the original's behaviour.
    task_class.__trioapi_original_methods__ = (task_class.restart, task_class.stop)
    task_class.restart = _restart_without_handshake
    task_class.stop = _stop
    return True


async def _run_in(scope: trio.CancelScope, action: Callable[[], Awaitable[None]]) -> None:
    with scope:
        await action()


async def _restart_without_handshake(
    self: Any, task_group: Any, action: Callable[[], Awaitable[None]]
) -> None:
    """``TrioSingleTask.restart``: cancel the running action, run ``action`` in a new task."""
    if self._handle is not None:
        self._handle.cancel()
    self._handle = trio.CancelScope()
    task_group._nursery.start_soon(_run_in, self._handle, action)


async def _stop(self: Any) -> None:
    """``TrioSingleTask.stop``: cancel the running action, if any."""
    if self._handle is not None:
        self._handle.cancel()
    self._handle = None


_restart_without_handshake.__trioapi_patched__ = True  # type: ignore[attr-defined]
