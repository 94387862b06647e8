"""Trio's exception groups: the one error a group of one stands for, and the levels trioapi adds.

Nurseries report their errors as exception groups (nested, when nurseries
are), and inside trioapi they stay Trio's strict groups. Where an error
reaches user code or leaves the app, the levels trioapi's own nurseries added
are taken off again (:func:`collapse_own_groups`), so the app sees what it
raised, as under FastAPI; and an exception handler registered for
``ValueError`` sees the ``ValueError`` inside a group of one
(:func:`single_leaf`). Several errors at once stay a group.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import TracebackType

import trio

__all__ = [
    "collapse_own_groups",
    "is_cancellation",
    "iter_leaves",
    "mark_own",
    "open_scope_nursery",
    "single_leaf",
]


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


# Set on the groups trioapi's own nurseries raise (``open_scope_nursery``), so
# the boundaries users see can take off exactly the levels trioapi added.
_OWN = "__trioapi_own_group__"


def mark_own(group: BaseExceptionGroup[BaseException]) -> None:
    """Record that ``group`` was raised by one of trioapi's own nurseries."""
    setattr(group, _OWN, True)


def collapse_own_groups(error: BaseException) -> BaseException:
    """``error`` without the group levels trioapi's own nurseries wrapped around it.

    A level trioapi added that holds one error (besides the cancellations of
    its other tasks) stands for that error; groups the app raised itself, and
    several errors at once, stay as they are. Called where an error reaches
    user code or leaves the app: the exception middlewares, a middleware's
    ``call_next``, ``serve_request`` and the lifespan.
    """
    while isinstance(error, BaseExceptionGroup) and getattr(error, _OWN, False):
        inner = [exc for exc in error.exceptions if not isinstance(exc, trio.Cancelled)]
        if not inner:
            inner = list(error.exceptions)
        if len(inner) != 1:
            break
        error = inner[0]
    return error


class open_scope_nursery:
    """A Trio nursery of trioapi's own; its errors leave as Trio's group, marked as such.

    With ``collapse`` (the default: the request nursery, and the toolkit's
    objects an app calls, streaming responses and middleware, as in
    Starlette), that level comes off again on the way out: an error from a
    task leaves as itself, and a group the code raised stays that group
    (``collapse_own_groups``). Without it (``serve_request``'s own nursery
    and the lifespan's), the group goes on, and the boundaries users see
    take the level off. A class rather than an
    ``asynccontextmanager``: it is on the path of requests that open one.
    """

    __slots__ = ("_collapse", "_manager")

    def __init__(self, *, collapse: bool = True) -> None:
        self._manager = trio.open_nursery()
        self._collapse = collapse

    async def __aenter__(self) -> trio.Nursery:
        return await self._manager.__aenter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        collapsed: BaseException | None = None
        try:
            return bool(await self._manager.__aexit__(exc_type, exc, traceback))
        except BaseExceptionGroup as group:
            mark_own(group)
            collapsed = collapse_own_groups(group) if self._collapse else group
            if collapsed is group:
                raise
        # Raised outside the except block, so the group does not become the
        # error's __context__ and its own chain stays as the code made it.
        raise collapsed
