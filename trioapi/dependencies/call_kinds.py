"""How a dependency or endpoint is called, worked out once: FastAPI's rules for wrapped callables.

A callable is a generator, an async generator or a coroutine function when
it is one, when what it wraps is one (``functools.wraps`` sets
``__wrapped__``; ``functools.partial`` is looked through), or when the
``__call__`` of either is one. So a plain ``def`` decorator around an
``async def`` is awaited, and one around a generator function is a ``yield``
dependency, as in FastAPI.
"""

from __future__ import annotations

import dis
import functools
import inspect
import types
from collections.abc import Callable
from typing import Any, NamedTuple

__all__ = ["CallKind", "call_kind", "never_waits"]


class CallKind(NamedTuple):
    """What calling the callable returns."""

    is_gen: bool
    is_async_gen: bool
    is_coroutine: bool


def _impartial(call: Any) -> Any:
    while isinstance(call, functools.partial):
        call = call.func
    return call


def _unwrapped(call: Any) -> Any:
    # inspect.unwrap follows __wrapped__; a partial may sit on either side.
    unwrapped = _impartial(call)
    while True:
        inner = _impartial(inspect.unwrap(unwrapped))
        if inner is unwrapped:
            return unwrapped
        unwrapped = inner


def _candidates(call: Any) -> list[Any]:
    """The callable, what it wraps, and (for instances) their ``__call__`` methods."""
    plain, inner = _impartial(call), _unwrapped(call)
    found = [plain, inner]
    if inspect.isclass(inner):
        return found
    for owner in (plain, inner):
        dunder = getattr(owner, "__call__", None)  # noqa: B004  # callable instances
        if dunder is not None and not inspect.isroutine(owner):
            found.extend((_impartial(dunder), _unwrapped(dunder)))
    return found


def _is_coroutine_function(candidate: Any) -> bool:
    return inspect.iscoroutinefunction(candidate) or bool(
        getattr(candidate, "_is_coroutine", None)  # asyncio's legacy marker
    )


def call_kind(call: Callable[..., Any]) -> CallKind:
    """Classify ``call`` (see the module docstring). Generators win over coroutines."""
    candidates = _candidates(call)
    return CallKind(
        is_gen=any(inspect.isgeneratorfunction(c) for c in candidates),
        is_async_gen=any(inspect.isasyncgenfunction(c) for c in candidates),
        is_coroutine=any(_is_coroutine_function(c) for c in candidates),
    )


# Opcode names (3.11 to 3.14) of await, async for, async with and with.
_WAITING_MARKS = ("AWAIT", "SEND", "AITER", "ANEXT", "ASYNC_FOR", "WITH", "SPECIAL")


def never_waits(call: Callable[..., Any] | None) -> bool:
    """Whether ``call`` is an async generator function whose body cannot wait or hold a context.

    True only for a plain function (or a ``functools.partial`` of one) whose
    own code has no ``await``, ``async for``, ``async with`` or ``with``: its
    generator never yields to Trio, so no cancellation can reach it, and it
    cannot keep a cancel scope open across its ``yield``. Anything else
    (wrapped callables, callable instances) is answered ``False``.
    """
    function = _impartial(call)
    if type(function) is not types.FunctionType or not inspect.isasyncgenfunction(function):
        return False
    return not any(
        mark in instruction.opname
        for instruction in dis.get_instructions(function.__code__)
        for mark in _WAITING_MARKS
    )
