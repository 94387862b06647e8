"""The ASGI lifespan protocol, with an app-wide nursery that lives as long as the server.

::

    serve_lifespan
    └─ lifespan nursery
       ├─ app-task holder: a nursery for tasks that run until shutdown,
       │  and the app's request watchdog, whose task runs there
       └─ the user's lifespan context (startup ... yield ... shutdown)

At shutdown the app tasks are cancelled and awaited first, so their cleanup
has run before the code after the lifespan's ``yield`` (the shutdown hooks).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import trio

from trioapi._collector import raise_gc_threshold_if_served
from trioapi._exception_groups import collapse_own_groups
from trioapi._scopes import open_scope_nursery
from trioapi._watchdog import RequestWatchdog
from trioapi.types import Receive, Scope, Send

logger = logging.getLogger("trioapi")

LifespanContext = Callable[[Any], AbstractAsyncContextManager[Any]]


class AppTasks:
    """Owns the nursery for application-lifetime tasks (``app.state`` work, refreshers).

    Attributes:
        nursery: The app-task nursery while it is open, else ``None``.
        watchdog: The app's request watchdog while the nursery is open, else
            ``None``; requests are handed it (``serve_request(watchdog=)``),
            and it lives no longer than the lifespan.
    """

    def __init__(self) -> None:
        self.nursery: trio.Nursery | None = None
        self.watchdog: RequestWatchdog | None = None
        self._cancel_scope = trio.CancelScope()
        self._stopped = trio.Event()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Hold the nursery open until :meth:`stop`; for ``nursery.start``."""
        try:
            with self._cancel_scope:
                async with open_scope_nursery(collapse=False) as nursery:
                    self.nursery = nursery
                    self.watchdog = RequestWatchdog(nursery)
                    task_status.started()
                    await trio.sleep_forever()
        finally:
            self.nursery = None
            self.watchdog = None
            self._stopped.set()

    async def stop(self) -> None:
        """Cancel every app task and wait until they have all finished their cleanup."""
        self._cancel_scope.cancel()
        await self._stopped.wait()


async def serve_lifespan(
    app: Any,
    scope: Scope,
    receive: Receive,
    send: Send,
    lifespan_context: LifespanContext,
    on_tasks: Callable[[AppTasks | None], None],
) -> None:
    """Answer the server's lifespan messages around ``lifespan_context(app)``.

    ``on_tasks`` is told the app's tasks (their nursery and the request
    watchdog) once they exist and ``None`` once they are gone, so requests
    can start application-lifetime tasks and be watched.
    """
    message = await receive()
    if message["type"] != "lifespan.startup":  # pragma: no cover - the server's contract
        return
    started = False
    tasks = AppTasks()
    try:
        # Served by hypercorn's trio worker: fewer collections of the young
        # objects of the requests in flight (trioapi._collector; once per process).
        raise_gc_threshold_if_served()
        async with open_scope_nursery(collapse=False) as nursery:
            await nursery.start(tasks.run)
            on_tasks(tasks)
            try:
                async with lifespan_context(app) as state:
                    _store_state(scope, state)
                    started = True
                    await send({"type": "lifespan.startup.complete"})
                    await _wait_for_shutdown(receive)
                    on_tasks(None)
                    await tasks.stop()
            finally:
                on_tasks(None)
                nursery.cancel_scope.cancel()
    except BaseException as exc:
        # BaseException: a failing startup/shutdown must be reported to the
        # server in the protocol's terms, whatever it was; it is re-raised
        # as the lifespan raised it, without the levels of trioapi's nurseries.
        failed = collapse_own_groups(exc)
        phase = "shutdown" if started else "startup"
        if isinstance(failed, Exception | BaseExceptionGroup):
            text = "".join(traceback.format_exception(failed))
            await send({"type": f"lifespan.{phase}.failed", "message": text})
        if failed is exc:
            raise
    else:
        await send({"type": "lifespan.shutdown.complete"})
        return
    raise failed  # outside the except block: no group as its __context__


def _store_state(scope: Scope, state: Any) -> None:
    if state is None:
        return
    if "state" not in scope:
        raise RuntimeError('The server does not support "state" in the lifespan scope.')
    scope["state"].update(state)


async def _wait_for_shutdown(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.shutdown":
            return
