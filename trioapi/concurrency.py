"""Running blocking code off the Trio event loop.

Every sync endpoint, dependency, background task and blocking file operation
goes through :func:`run_in_threadpool`, so one capacity limiter bounds the
number of worker threads the whole process uses.
"""

from __future__ import annotations

import functools
import inspect
import sys
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from typing import Any, ParamSpec, TypeVar, TypeVarTuple

import trio

from trioapi.exceptions import TrioAPIDeprecationWarning

__all__ = [
    "is_async_callable",
    "iterate_in_threadpool",
    "run_in_threadpool",
    "run_until_first_complete",
    "set_thread_limit",
    "thread_limiter",
]

P = ParamSpec("P")
T = TypeVar("T")
Ts = TypeVarTuple("Ts")

_DEFAULT_THREADS = 40
# How many threads the limiters made from now on allow: a setting, not the
# limiter itself (set_thread_limit changes it).
_thread_limit = _DEFAULT_THREADS
# One limiter per Trio run: a CapacityLimiter belongs to the loop that made it,
# and the test clients run several loops, one after another or at once.
_limiter: trio.lowlevel.RunVar[trio.CapacityLimiter] = trio.lowlevel.RunVar(
    "trioapi.thread_limiter"
)


def thread_limiter() -> trio.CapacityLimiter:
    """Return the limiter shared by all of trioapi's worker threads in this Trio run.

    Made on first use in each run, allowing the current thread limit (see
    :func:`set_thread_limit`); every ``trio.run`` (a server, a test client's
    loop) gets its own.

    Raises:
        RuntimeError: called outside a Trio run.
    """
    try:
        return _limiter.get()
    except LookupError:
        limiter = trio.CapacityLimiter(_thread_limit)
        _limiter.set(limiter)
        return limiter


def set_thread_limit(total_tokens: int) -> None:
    """Change how many worker threads may run at once (default 40).

    Applies to the running Trio run's limiter, when called inside one, and
    to the limiter of every run started afterwards (a test client's loop, a
    server's worker).
    """
    global _thread_limit
    _thread_limit = total_tokens
    try:
        limiter = _limiter.get()
    except (LookupError, RuntimeError):  # no limiter in this run yet, or no run at all
        return
    limiter.total_tokens = total_tokens


async def run_in_threadpool(func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Call ``func(*args, **kwargs)`` in a worker thread and return its result.

    A checkpoint. Trio cannot interrupt a thread: if the calling task is
    cancelled meanwhile (a deadline, a disconnect), this still waits for the
    call to return, so what the caller set up for it (a yield dependency)
    stays open until then, and its limiter slot stays held; the caller's
    next checkpoint then raises ``trio.Cancelled``. A request's deadline is
    answered (504) on time all the same, and the response the request makes
    afterwards is dropped: see docs/guide-scopes.md.
    """
    if kwargs:
        return await _to_thread(functools.partial(func, *args, **kwargs))
    return await _to_thread(func, *args)


async def _to_thread(func: Callable[[*Ts], T], *args: *Ts) -> T:
    """``func(*args)`` in a worker thread under the shared limiter; a checkpoint.

    When the program uses anyio (it is imported), the thread is started
    through ``anyio.to_thread`` on its Trio backend, so code ported from
    FastAPI that calls ``anyio.from_thread.run()`` in a sync dependency or
    endpoint finds its way back to the loop. anyio's Trio backend hands the
    limiter to ``trio.to_thread.run_sync`` as it is. A program that does not
    import anyio pays nothing for this.
    """
    if "anyio" in sys.modules:
        from anyio import to_thread

        # Any: anyio types the limiter as its own CapacityLimiter; its Trio
        # backend passes it straight to trio.to_thread.run_sync.
        limiter: Any = thread_limiter()
        return await to_thread.run_sync(func, *args, limiter=limiter)
    return await trio.to_thread.run_sync(func, *args, limiter=thread_limiter())


class _StopIterationInThread(Exception):
    """Carries the end of a sync iterator out of the worker thread."""


def _next_or_stop(iterator: Iterator[T]) -> T:
    try:
        return next(iterator)
    except StopIteration:
        # StopIteration cannot cross trio.to_thread: it would become a RuntimeError.
        raise _StopIterationInThread from None


async def iterate_in_threadpool(iterable: Iterable[T]) -> AsyncIterator[T]:
    """Iterate a blocking iterable, fetching each item in a worker thread."""
    iterator = iter(iterable)
    while True:
        try:
            yield await _to_thread(_next_or_stop, iterator)
        except _StopIterationInThread:
            return


def is_async_callable(obj: Any) -> bool:
    """Whether calling ``obj`` returns a coroutine (looks through ``functools.partial``)."""
    while isinstance(obj, functools.partial):
        obj = obj.func
    if inspect.iscoroutinefunction(obj):
        return True
    call = getattr(type(obj), "__call__", None)  # noqa: B004  # instances with async __call__
    return call is not None and inspect.iscoroutinefunction(call)


async def run_until_first_complete(
    *args: tuple[Callable[..., Awaitable[Any]], dict[str, Any]],
) -> None:
    """Run each ``(async_func, kwargs)`` concurrently; when one returns, cancel the rest.

    Deprecated, as in Starlette: open a nursery and cancel its scope yourself.
    A checkpoint; an error from any of the calls cancels the others and propagates.
    """
    warnings.warn(
        "run_until_first_complete is deprecated and will be removed in a future version.",
        TrioAPIDeprecationWarning,
        stacklevel=2,
    )
    async with trio.open_nursery() as nursery:

        async def run_then_cancel(
            func: Callable[..., Awaitable[Any]], kwargs: dict[str, Any]
        ) -> None:
            await func(**kwargs)
            nursery.cancel_scope.cancel()

        for func, kwargs in args:
            nursery.start_soon(run_then_cancel, func, kwargs)
