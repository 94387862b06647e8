"""The slots of ``Depends(max_concurrency=N)``: one semaphore per callable and limit, per app.

The limit belongs to the dependency, not to one route: within one
application every declaration of the same callable with the same
``max_concurrency`` shares one ``trio.Semaphore``, made once at registration,
so ``N`` bounds the calls running at once across all of the app's requests.
The application owns the registry (``TrioAPI.dependency_limiters``) and its
routes find it through their ``dependency_overrides_provider``; a route not
registered on an app has one of its own. A request that finds no free slot
waits for one (a cancellable checkpoint); nothing is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import trio

__all__ = ["DependencyLimiters"]


class DependencyLimiters:
    """One application's semaphores for ``Depends(max_concurrency=N)``."""

    __slots__ = ("_semaphores",)

    def __init__(self) -> None:
        # id(callable), limit -> (callable, semaphore). The callable is kept so
        # its id cannot be reused by another object while the entry exists;
        # callables are keyed by identity because not all of them are hashable.
        self._semaphores: dict[tuple[int, int], tuple[Callable[..., Any], trio.Semaphore]] = {}

    def limiter_for(self, call: Callable[..., Any], max_concurrency: int) -> trio.Semaphore:
        """The semaphore shared by every use of ``call`` limited to ``max_concurrency``.

        Not a checkpoint; called at registration.
        """
        key = (id(call), max_concurrency)
        entry = self._semaphores.get(key)
        if entry is None:
            entry = (call, trio.Semaphore(max_concurrency))
            self._semaphores[key] = entry
        return entry[1]
