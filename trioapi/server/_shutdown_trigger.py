"""Fix ``shutdown-trigger``: graceful shutdown reaches the app under hypercorn's command line.

Hypercorn's trio worker process runs ``trio_worker()``, which imports the
user's module (constructing the TrioAPI) and then calls ``worker_serve(app,
config, shutdown_trigger=...)``, looked up as a global of
``hypercorn.trio.run`` at call time. The trigger it passes is hypercorn's
(a poll of the multiprocess shutdown event; ``None`` with ``--workers 0``),
so the app hears of the shutdown only through the lifespan, which hypercorn
runs after the connections are gone: too late to close WebSockets with 1001
or end streams. Wrapping that global, before ``trio_worker`` reaches it,
lets the app wrap the trigger (``TrioAPI.shutdown_trigger``).

Why this design and not another: a wrapper around the ASGI app cannot see
the trigger fire; a lifespan hook hears of it only after graceful_timeout;
the multiprocess event cannot be reached from the app without hypercorn's
internals anyway; hypercorn offers no hook for it. Rebinding one module
global (a function: nothing to subclass) is the smallest change that gives
the app the trigger, and it leaves ``hypercorn.trio.serve()`` (which bound
``worker_serve`` at its own import) untouched: programs that call it pass
``app.shutdown_trigger(...)`` themselves.

Its own release check: it does not depend on the crash fix's.
"""

from __future__ import annotations

import importlib
import inspect
import signal
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import trio

from trioapi.server._registry import HypercornFix

__all__ = ["FIX", "call_shutdown_trigger", "find_shutdown_target", "wrap_worker_serve"]

WORKER_RUN_MODULE = "hypercorn.trio.run"

ShutdownTrigger = Callable[[], Awaitable[object]]


def check_worker_shape(module: Any) -> str | None:
    """Why hypercorn's trio worker does not look as it did when the wrapper was written."""
    worker_serve = getattr(module, "worker_serve", None)
    if not callable(worker_serve) or not hasattr(module, "trio_worker"):
        return "hypercorn.trio.run has no worker_serve and trio_worker"
    try:
        parameters = inspect.signature(worker_serve).parameters
    except (TypeError, ValueError):
        return "hypercorn.trio.run.worker_serve has no signature to check"
    trigger = parameters.get("shutdown_trigger")
    if trigger is None or trigger.kind is not inspect.Parameter.KEYWORD_ONLY:
        return "hypercorn.trio.run.worker_serve takes no keyword-only shutdown_trigger"
    return None


def find_shutdown_target(app: object) -> Any:
    """The object with a ``shutdown_trigger`` method that ``app`` wraps (via ``.app``), or ``None``.

    Follows ``.app`` from hypercorn's ``ASGIWrapper`` through ASGI middleware
    that keep the wrapped app there; stops at the first match, after a few
    steps, or on a cycle.
    """
    seen: set[int] = set()
    current: object = app
    for _ in range(16):
        if id(current) in seen:
            return None
        seen.add(id(current))
        if callable(getattr(current, "shutdown_trigger", None)) and not isinstance(current, type):
            return current
        current = getattr(current, "app", None)
        if current is None:
            return None
    return None


def call_shutdown_trigger(
    target: Any, trigger: ShutdownTrigger, graceful_timeout: float | None
) -> ShutdownTrigger:
    """``target.shutdown_trigger(trigger)``, telling it the server's ``graceful_timeout`` if it asks.

    A ``TrioAPI`` takes it to answer 503, at the server's hard cancel, the
    requests still waiting on a worker thread; a ``shutdown_trigger`` without
    the keyword (another framework's) gets the trigger alone.
    """
    method = target.shutdown_trigger
    if graceful_timeout is not None and _takes_graceful_timeout(method):
        wrapped: ShutdownTrigger = method(trigger, graceful_timeout=graceful_timeout)
    else:
        wrapped = method(trigger)
    return wrapped


def _takes_graceful_timeout(method: Callable[..., object]) -> bool:
    try:
        return "graceful_timeout" in inspect.signature(method).parameters
    except (TypeError, ValueError):
        return False


def wrap_worker_serve(original: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """hypercorn's ``worker_serve``, handing a served app with ``shutdown_trigger`` the trigger.

    When the app it serves (under hypercorn's ``ASGIWrapper`` and any
    middleware exposing ``.app``) has a ``shutdown_trigger`` method, the
    trigger hypercorn passes becomes ``app.shutdown_trigger(trigger)``, so
    open WebSockets close with 1001 and streams end as soon as hypercorn
    decides to stop, before its hard cancel at ``graceful_timeout``. Where
    hypercorn passes no trigger (``--workers 0``), the trigger is the first
    SIGINT or SIGTERM; in a spawned worker (which ignores SIGINT: the parent
    handles it), a SIGTERM sent to the worker itself (``systemd`` signals the
    whole group) also begins the graceful shutdown instead of killing the
    worker. A second stop signal stops the process at once
    (``KeyboardInterrupt``). Apps without ``shutdown_trigger`` are served
    exactly as before.
    """

    async def worker_serve(app: Any, config: Any, *args: Any, **kwargs: Any) -> None:
        target = find_shutdown_target(app)
        given: ShutdownTrigger | None = kwargs.get("shutdown_trigger")
        if target is None:
            await original(app, config, *args, **kwargs)
        elif threading.current_thread() is not threading.main_thread():
            # Signal handlers can only be installed from the main thread.
            if given is not None:
                graceful = getattr(config, "graceful_timeout", None)
                kwargs["shutdown_trigger"] = call_shutdown_trigger(target, given, graceful)
            await original(app, config, *args, **kwargs)
        else:
            await _serve_with_stop_signals(original, target, given, app, config, *args, **kwargs)

    worker_serve.__wrapped__ = original  # type: ignore[attr-defined]
    return worker_serve


async def _serve_with_stop_signals(
    original: Callable[..., Awaitable[None]],
    target: Any,
    given: ShutdownTrigger | None,
    *args: Any,
    **kwargs: Any,
) -> None:
    """Serve with ``target``'s trigger: ``given`` or the first stop signal, whichever comes first.

    With no ``given`` trigger (``--workers 0``) SIGINT and SIGTERM stop the
    server; in a spawned worker only SIGTERM (hypercorn makes it ignore
    SIGINT: its parent process handles Ctrl-C). The receiver stays open until
    serving ends: closing it when the first signal is handled would make a
    second one (the parent's event and a group-wide SIGTERM arrive together)
    the default action, a hard kill. A second signal is rather a hard stop on
    purpose, ``KeyboardInterrupt`` as with two Ctrl-Cs under hypercorn.
    """
    signums = (signal.SIGTERM,) if given is not None else (signal.SIGINT, signal.SIGTERM)
    signalled = trio.Event()
    trigger = signalled.wait if given is None else _first_of(given, signalled.wait)
    graceful = getattr(args[1], "graceful_timeout", None)  # args: app, config, ...
    kwargs["shutdown_trigger"] = call_shutdown_trigger(target, trigger, graceful)
    with trio.open_signal_receiver(*signums) as received:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_watch_stop_signals, received, signalled)
            await original(*args, **kwargs)
            nursery.cancel_scope.cancel()


async def _watch_stop_signals(received: AsyncIterator[int], signalled: trio.Event) -> None:
    async for _ in received:
        if signalled.is_set():
            raise KeyboardInterrupt  # the second signal: stop now, without waiting
        signalled.set()


def _first_of(*triggers: ShutdownTrigger) -> ShutdownTrigger:
    async def wait_for_first() -> None:
        async with trio.open_nursery() as nursery:
            for trigger in triggers:
                nursery.start_soon(_then_cancel, trigger, nursery.cancel_scope)

    return wait_for_first


async def _then_cancel(trigger: ShutdownTrigger, scope: trio.CancelScope) -> None:
    await trigger()
    scope.cancel()


def _install() -> None:
    module: Any = importlib.import_module(WORKER_RUN_MODULE)
    if module.worker_serve.__module__ != __name__:  # not wrapped yet
        module.worker_serve = wrap_worker_serve(module.worker_serve)


FIX = HypercornFix(
    name="shutdown-trigger",
    changes="hypercorn.trio.run.worker_serve hands a served TrioAPI the shutdown trigger, "
    "so WebSockets close with 1001 and streams end before the graceful timeout",
    releases=("0.17", "0.18"),
    check_shape=lambda: check_worker_shape(importlib.import_module(WORKER_RUN_MODULE)),
    install=_install,
)
