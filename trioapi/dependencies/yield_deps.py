"""Entering and tearing down ``yield`` dependencies, nested in the request's own task.

``run_inside_generator`` runs the generator up to its ``yield``, awaits the
rest of the request *inside* it, then resumes the generator with the
outcome: the value, or the exception thrown in at the ``yield``. Because the
rest of the request runs inside this call, a dependency may open a nursery
or cancel scope around its ``yield``, and generators unwind last-in,
first-out by construction, with no exit stack.

The teardown is shielded from outside cancellation and bounded by a grace
period. The shield is a cancel scope opened *before* the generator starts,
and only switched on for the teardown, so any scope the generator itself
opened stays correctly nested inside it.
"""

from __future__ import annotations

import logging
import math
import types
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine, Generator
from typing import Any, TypeVar

import outcome
import trio

from trioapi._scopes import CLEANUP_GRACE
from trioapi.concurrency import run_in_threadpool
from trioapi.exceptions import TrioAPIError

__all__ = ["SWALLOWED_EXCEPTION_MESSAGE", "run_inside_generator"]

T = TypeVar("T")
logger = logging.getLogger("trioapi")

SWALLOWED_EXCEPTION_MESSAGE = (
    "No response object was returned. There's a high chance that the application code is "
    "raising an exception and a dependency with yield has a block with a bare except, or a "
    "block with except Exception, and is not raising the exception again. The dependency "
    "{name} caught {error!r}; re-raise it (or raise another exception) in its except block."
)


_YIELDED_TWICE = "A yield dependency yielded more than once; a dependency yields once"


class _Swallowed(Exception):
    """Internal: the generator returned after an exception was thrown into it."""


async def _finish_async(agen: AsyncGenerator[Any, Any], result: outcome.Outcome[Any]) -> None:
    try:
        if isinstance(result, outcome.Error):
            await agen.athrow(result.error)
        elif isinstance(result, outcome.Value):
            await agen.asend(result.value)
    except StopAsyncIteration:
        if isinstance(result, outcome.Error):
            raise _Swallowed from None
        return
    raise RuntimeError(_YIELDED_TWICE)


async def _finish_async_with(agen: AsyncGenerator[Any, Any], value: Any) -> None:
    """:func:`_finish_async` for a value."""
    try:
        await agen.asend(value)
    except StopAsyncIteration:
        return
    raise RuntimeError(_YIELDED_TWICE)


def _start_sync(gen: Generator[Any, Any, Any], name: str) -> Any:
    try:
        return next(gen)
    except StopIteration:
        raise RuntimeError(f"The yield dependency {name} returned without yielding") from None


def _finish_sync(gen: Generator[Any, Any, Any], result: outcome.Outcome[Any]) -> None:
    # Runs in a worker thread: StopIteration must not cross the thread boundary.
    try:
        if isinstance(result, outcome.Error):
            gen.throw(result.error)
        elif isinstance(result, outcome.Value):
            gen.send(result.value)
    except StopIteration:
        if isinstance(result, outcome.Error):
            raise _Swallowed from None
        return
    raise RuntimeError(_YIELDED_TWICE)


def _shield_teardown(scope: trio.CancelScope) -> None:
    # Shield: cleanup must run even when the request was cancelled; the
    # deadline bounds a cleanup that hangs.
    scope.shield = True
    scope.deadline = trio.current_time() + CLEANUP_GRACE


@types.coroutine
def _shielded_once_it_waits(
    teardown: Coroutine[Any, Any, None], scope: trio.CancelScope
) -> Generator[Any, Any, None]:
    """Await ``teardown`` with ``scope`` shielded and bounded from its first wait on.

    Most teardowns finish without waiting (nothing to close, or a close that
    does not block), and shielding a scope costs more than the rest of a
    small request: Trio registers its deadline. Until the teardown first
    yields to Trio no cancellation can reach it, so the scope is shielded
    just before that first wait is handed on, or at once when the task is
    already cancelled (a checkpoint in the teardown would then wait).
    """
    if trio.current_effective_deadline() == -math.inf:
        _shield_teardown(scope)  # already cancelled: shielded from the start, as ever
    try:
        request = teardown.send(None)
    except StopIteration:
        return
    if not scope.shield:
        _shield_teardown(scope)
    # From here on, what `yield from` does: pass Trio's requests up and its answers down.
    while True:
        try:
            answer = yield request
        except GeneratorExit:
            teardown.close()
            raise
        except BaseException as error:
            try:
                request = teardown.throw(error)
            except StopIteration:
                return
        else:
            try:
                request = teardown.send(answer)
            except StopIteration:
                return


def _not_yielding(name: str) -> RuntimeError:
    return RuntimeError(f"The yield dependency {name} returned without yielding")


def _raise_swallowed(result: outcome.Outcome[Any], name: str) -> None:
    """Raise what replaces ``result``'s exception, which the generator swallowed."""
    error = result.error if isinstance(result, outcome.Error) else None
    if isinstance(error, Exception):
        message = SWALLOWED_EXCEPTION_MESSAGE.format(name=name, error=error)
        raise TrioAPIError(message) from error
    if error is not None:
        raise error from None  # never swallow cancellation or exit requests


async def run_inside_generator(
    call: Callable[..., Any],
    kwargs: dict[str, Any],
    *,
    is_async: bool,
    name: str,
    inner: Callable[[Any], Awaitable[T]],
    never_waits: bool = False,
) -> T:
    """Enter the yield dependency ``call(**kwargs)``, await ``inner(value)`` inside it, tear down.

    A checkpoint. The generator is resumed with ``inner``'s result, or has
    ``inner``'s exception thrown in at its ``yield``. If it swallows an
    ``Exception``, :class:`TrioAPIError` is raised (chained to it): the
    request has no result, and that must not pass as a success.

    ``never_waits`` (an async generator whose code has no ``await``, ``async
    for/with`` or ``with``, see :func:`~trioapi.dependencies.call_kinds.never_waits`)
    skips the teardown scope: a teardown that never yields to Trio cannot be
    cancelled or hang on I/O, and the generator holds no scope to nest in.

    Raises:
        TrioAPIError: the dependency swallowed the exception thrown into it.
    """
    if never_waits:
        agen = call(**kwargs)
        try:
            value = await agen.__anext__()
        except StopAsyncIteration:
            raise _not_yielding(name) from None
        # What the general path does below, without outcome objects on success.
        try:
            answer = await inner(value)
        except BaseException as exc:
            failure = outcome.Error(exc)
        else:
            await _finish_async_with(agen, answer)
            await trio.lowlevel.checkpoint_if_cancelled()  # as after a waiting teardown
            return answer
        try:
            await _finish_async(agen, failure)
        except _Swallowed:
            _raise_swallowed(failure, name)
            raise
        await trio.lowlevel.checkpoint_if_cancelled()
        return failure.unwrap()
    with trio.CancelScope() as teardown_scope:
        if is_async:
            agen = call(**kwargs)
            try:
                value = await agen.__anext__()
            except StopAsyncIteration:
                raise _not_yielding(name) from None
        else:
            gen = call(**kwargs)
            value = await run_in_threadpool(_start_sync, gen, name)
        result = await outcome.acapture(inner, value)
        try:
            if is_async:
                await _shielded_once_it_waits(_finish_async(agen, result), teardown_scope)
            else:
                _shield_teardown(teardown_scope)
                await run_in_threadpool(_finish_sync, gen, result)
        except _Swallowed:
            _raise_swallowed(result, name)
            raise
    if teardown_scope.cancelled_caught:
        logger.error("Teardown of the yield dependency %s took too long and was cancelled", name)
    if is_async:
        # An async teardown is where a cancellation that came during (or
        # before) it is delivered, as FastAPI delivers it once the generator
        # has closed. A sync one is not: without async teardown, a response
        # ready before the cancellation still goes out.
        await trio.lowlevel.checkpoint_if_cancelled()
    return result.unwrap()
