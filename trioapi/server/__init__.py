"""The server layer: everything trioapi changes in hypercorn, in one place.

trioapi is served by hypercorn's trio worker, and changes a few things in it
(a crash fix, graceful shutdown under hypercorn's command line, refusing
request smuggling, resetting unfinished HTTP/2 streams, a cheaper idle
task). Each change is a :class:`HypercornFix`: checked against the hypercorn
releases and the code shape it was written for, applied by one function,
logged on ``trioapi.server`` with one INFO line (applied, or skipped and
why), and possible to turn off:

- ``TRIOAPI_HYPERCORN_FIXES=0`` turns every fix off, ``=-idle-task,-h2-reset``
  the named ones, ``=send-eof-lock`` keeps only the named ones;
- ``trioapi run --no-hypercorn-fixes`` turns them all off;
- :func:`apply_hypercorn_fixes` with ``enabled=False``, called before serving.

They are applied once per process, the first time one of these runs: a
``TrioAPI`` (or ``Starlette``) constructed or started in a process that has
imported hypercorn's trio worker, ``trioapi run``/``dev``, or a call of
:func:`apply_hypercorn_fixes`. Importing this package imports no hypercorn.
"""

from __future__ import annotations

import sys

from trioapi.server._catalog import FIX_MODULES
from trioapi.server._registry import (
    ENV_VAR,
    FixDecision,
    FixRegister,
    HypercornFix,
    HypercornFixesError,
    load_fixes,
)
from trioapi.server._response_start import repair_cut_response_start
from trioapi.server._shutdown_trigger import call_shutdown_trigger, find_shutdown_target
from trioapi.server._stream_cancel import can_cancel_http2_stream, cancel_http2_stream

__all__ = [
    "ENV_VAR",
    "FixDecision",
    "HypercornFix",
    "HypercornFixesError",
    "applied_hypercorn_fixes",
    "call_shutdown_trigger",
    "can_cancel_http2_stream",
    "cancel_http2_stream",
    "apply_hypercorn_fixes",
    "apply_hypercorn_fixes_if_served",
    "find_shutdown_target",
    "plan_hypercorn_fixes",
    "repair_cut_response_start",
]

_HYPERCORN_TRIO_WORKER = "hypercorn.trio.run"

_register = FixRegister(lambda: load_fixes(FIX_MODULES))


def apply_hypercorn_fixes(*, enabled: bool = True) -> frozenset[str]:
    """Apply trioapi's hypercorn fixes in this process, the first time it is called.

    The first call decides, installs and logs each fix; later calls (with
    any ``enabled``) change nothing and return the same names.

    Args:
        enabled: ``False`` turns every fix off (each is still logged, as skipped).

    Returns:
        The names of the fixes in place.

    Raises:
        HypercornFixesError: ``TRIOAPI_HYPERCORN_FIXES`` names no fix.
    """
    return _register.apply(enabled=enabled)


def apply_hypercorn_fixes_if_served() -> frozenset[str]:
    """:func:`apply_hypercorn_fixes`, only in a process that imported hypercorn's trio worker.

    Inside a hypercorn trio worker, ``hypercorn.trio.run`` is imported before
    the user's module, so the ``TrioAPI()`` at its top level applies the
    fixes before ``worker_serve`` is called. Elsewhere (``TestClient``
    runs) it costs a dictionary look-up and imports nothing.
    """
    if _HYPERCORN_TRIO_WORKER not in sys.modules:
        return frozenset()
    return _register.apply()


def applied_hypercorn_fixes() -> frozenset[str]:
    """The names of the fixes in place in this process (none before they are applied)."""
    return _register.applied()


def plan_hypercorn_fixes() -> list[FixDecision]:
    """Which fixes apply in this process, and why the others do not. Changes nothing.

    Once the fixes are applied, what was decided then; before, what would
    be decided now (from ``TRIOAPI_HYPERCORN_FIXES``, the installed
    hypercorn and its shape). Imports hypercorn.
    """
    return _register.plan()
