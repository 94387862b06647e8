"""Trio's exception groups, and the one error a group of one stands for.

Nurseries report their errors as exception groups (nested, when nurseries
are). Where an error reaches user code or leaves the app, a group that holds
a single error is collapsed to that error, so a handler registered for
``ValueError`` sees the ``ValueError``; several errors at once stay a group.
"""

from __future__ import annotations

from collections.abc import Iterator

import trio

__all__ = ["is_cancellation", "iter_leaves", "single_leaf"]


def single_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException | None:
    """The one exception inside ``group`` (looking through nested groups), or None if several."""
    leaves = list(iter_leaves(group))
    return leaves[0] if len(leaves) == 1 else None


def iter_leaves(group: BaseExceptionGroup[BaseException]) -> Iterator[BaseException]:
    """Every exception inside ``group`` that is not itself a group, depth first."""
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            yield from iter_leaves(exc)
        else:
            yield exc


def is_cancellation(error: BaseException) -> bool:
    """Whether ``error`` is Trio's cancellation (alone, or a group of nothing else)."""
    if isinstance(error, BaseExceptionGroup):
        return error.split(trio.Cancelled)[1] is None
    return isinstance(error, trio.Cancelled)
