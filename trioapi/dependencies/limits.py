"""The slots of ``Depends(max_concurrency=N)``: one semaphore per callable and limit.

The limit belongs to the dependency, not to one route: every declaration of
the same callable with the same ``max_concurrency`` shares one
``trio.Semaphore``, made once at registration, so ``N`` bounds the calls
running at once across the whole process. A request that finds no free slot
waits for one (a cancellable checkpoint); nothing is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import trio

__all__ = ["limiter_for"]

# id(callable), limit -> (callable, semaphore). The callable is kept so its
# id cannot be reused by another object while the entry exists; callables
# are keyed by identity because not every callable object is hashable.
_limiters: dict[tuple[int, int], tuple[Callable[..., Any], trio.Semaphore]] = {}


def limiter_for(call: Callable[..., Any], max_concurrency: int) -> trio.Semaphore:
    """The semaphore shared by every use of ``call`` limited to ``max_concurrency``.

    Not a checkpoint; called at registration.
    """
    key = (id(call), max_concurrency)
    entry = _limiters.get(key)
    if entry is None:
        entry = (call, trio.Semaphore(max_concurrency))
        _limiters[key] = entry
    return entry[1]
