"""Background tasks: work that runs after the response has been sent."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any, ParamSpec

from trioapi.concurrency import is_async_callable, run_in_threadpool

__all__ = [
    "BackgroundTask",
    "BackgroundTasks",
]

P = ParamSpec("P")

#: How ``BackgroundTasks`` runs each task: set by trioapi.telemetry while it
#: records a request (each task then runs inside its own span).
task_runner: ContextVar[Callable[[BackgroundTask], Awaitable[None]] | None] = ContextVar(
    "trioapi.background.task_runner", default=None
)


class BackgroundTask:
    """One call to make after the response is sent; sync callables run in a thread."""

    def __init__(self, func: Callable[P, Any], *args: P.args, **kwargs: P.kwargs) -> None:
        self.func = func
        self.args = args
        self.kwargs = kwargs
        self.is_async = is_async_callable(func)

    async def __call__(self) -> None:
        """Run the task. A checkpoint; cancellation reaches an async task at its next checkpoint."""
        try:
            if self.is_async:
                await self.func(*self.args, **self.kwargs)
            else:
                await run_in_threadpool(self.func, *self.args, **self.kwargs)
        except Exception as exc:
            # The response has gone: the log line (see trioapi._scopes) must say what failed.
            exc.add_note(f"raised by the background task {self!r}")
            raise

    def __repr__(self) -> str:
        return f"BackgroundTask({getattr(self.func, '__qualname__', self.func)!r})"


class BackgroundTasks(BackgroundTask):
    """An ordered list of background tasks, run one after the other."""

    def __init__(self, tasks: list[BackgroundTask] | None = None) -> None:
        self.tasks = list(tasks) if tasks else []

    def add_task(self, func: Callable[P, Any], *args: P.args, **kwargs: P.kwargs) -> None:
        """Queue ``func(*args, **kwargs)`` to run after the response."""
        self.tasks.append(BackgroundTask(func, *args, **kwargs))

    async def __call__(self) -> None:
        """Run every task in order. A checkpoint."""
        runner = task_runner.get()
        for task in self.tasks:
            await (task() if runner is None else runner(task))

    def __repr__(self) -> str:
        return f"BackgroundTasks({self.tasks!r})"
