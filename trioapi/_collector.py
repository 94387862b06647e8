"""The garbage collector's first threshold in a process hypercorn's trio worker serves.

CPython collects its youngest generation when the number of container
objects allocated, less those freed, passes 700. Under load a server keeps
many requests in flight, each suspended in its send with its coroutine frames,
cancel scopes and closures alive, so that count reaches 700 every few
requests; each collection then walks every young object of every request in
flight and moves the survivors on, which brings the older generations' (and
the full) collections sooner too. At 64 connections over HTTP/2 that was
70-130 µs of a trioapi request's server CPU (a third of the floor's whole
request), against 2 µs in-process; over HTTP/1.1 15-45 µs
(``bench/served.py``; measured with ``gc.callbacks``).

So a process that serves with hypercorn's trio worker (the one the server
layer's fixes detect) raises that first threshold to :data:`SERVED_THRESHOLD`
when the lifespan starts: young collections become rare (their number falls
much faster than the threshold rises, as the count goes up and down with
the requests in flight), and no cycle is left uncollected, only collected a
little later. Not when the program set its own thresholds, nor when the
collector is disabled. ``TRIOAPI_GC_THRESHOLD=0`` keeps Python's; a positive
number is used instead of :data:`SERVED_THRESHOLD`. Once per process, said in
one line on the ``trioapi.server`` logger.
"""

from __future__ import annotations

import gc
import logging
import os
import sys

from trioapi.exceptions import TrioAPIError

__all__ = [
    "ENV_VAR",
    "SERVED_THRESHOLD",
    "GCThresholdError",
    "raise_gc_threshold",
    "raise_gc_threshold_if_served",
]

ENV_VAR = "TRIOAPI_GC_THRESHOLD"
SERVED_THRESHOLD = 10_000
# CPython's own thresholds: anything else was set by the program, and is kept.
_PYTHON_DEFAULTS = (700, 10, 10)
_HYPERCORN_TRIO_WORKER = "hypercorn.trio.run"

logger = logging.getLogger("trioapi.server")

_decided = False


class GCThresholdError(TrioAPIError):
    """``TRIOAPI_GC_THRESHOLD`` is not a whole number of zero or more."""


def raise_gc_threshold_if_served() -> int | None:
    """:func:`raise_gc_threshold`, only in a process that imported hypercorn's trio worker."""
    if _decided or _HYPERCORN_TRIO_WORKER not in sys.modules:
        return None
    return raise_gc_threshold()


def raise_gc_threshold() -> int | None:
    """Raise the collector's first threshold, the first time it is called in this process.

    Returns:
        The first threshold set, or ``None`` when the collector was left as it is.

    Raises:
        GCThresholdError: ``TRIOAPI_GC_THRESHOLD`` is not a whole number of zero or more.
    """
    global _decided
    if _decided:
        return None
    wanted = _wanted_threshold()
    _decided = True
    current = gc.get_threshold()
    if wanted == 0:
        logger.info("Kept the garbage collector's thresholds %s: %s=0", current, ENV_VAR)
        return None
    if current != _PYTHON_DEFAULTS or not gc.isenabled():
        why = "set by the program" if gc.isenabled() else "the collector is disabled"
        logger.info("Kept the garbage collector's thresholds %s: %s", current, why)
        return None
    gc.set_threshold(wanted, *current[1:])
    logger.info(
        "Raised the garbage collector's first threshold from %d to %d, for requests in "
        "flight (%s=0 keeps Python's)",
        current[0],
        wanted,
        ENV_VAR,
    )
    return wanted


def _wanted_threshold() -> int:
    value = os.environ.get(ENV_VAR, "").strip()
    if not value:
        return SERVED_THRESHOLD
    if not value.isdigit():
        raise GCThresholdError(
            f"{ENV_VAR}={value!r} is not a whole number: set it to 0 to keep Python's "
            f"garbage collector thresholds, or to the first threshold to use "
            f"(default {SERVED_THRESHOLD})."
        )
    return int(value)
