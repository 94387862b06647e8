"""Keep hypercorn's trio worker alive: a version-guarded fix for a send race.

hypercorn 0.17/0.18's trio ``TCPServer`` serialises ``send_all`` calls with a
``trio.Lock`` (``send_lock``) but its ``_close()`` calls ``stream.send_eof()``
without taking that lock. Trio's ``SocketStream.send_eof()`` holds the
stream's send conflict detector across a checkpoint, so a task that already
holds ``send_lock`` and enters ``send_all()`` during that checkpoint gets
``trio.BusyResourceError``. ``protocol_send`` does not catch it; when the
sender is the HTTP/2 send task or the connection's read task (sending a 400
for a malformed HTTP/1.1 body), the error escapes the connection's nursery
and ends the whole worker. See ``docs/hypercorn-bug-report.md``.

The fix replaces ``TCPServer._close`` with :func:`_close_with_send_lock`,
which sends EOF only while holding ``send_lock``; if another task holds the
lock, it skips the EOF (as the original did after catching
``BusyResourceError``) and closes the stream, which makes that task's
``send_all`` fail with ``ClosedResourceError``, an error hypercorn handles.

The module also makes graceful shutdown reach the app when hypercorn's own
command line serves it (:func:`patch_hypercorn_worker_serve`, below), and
:func:`patch_hypercorn` also makes the same releases' per-request idle task
cheaper (``trioapi._server_idle``), refuses requests framed by both
``Content-Length`` and ``Transfer-Encoding`` (``trioapi._server_framing``) and
resets HTTP/2 streams whose response the app left unfinished
(``trioapi._server_h2reset``).
"""

from __future__ import annotations

import importlib.metadata
import inspect
import logging
import signal
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import trio

from trioapi._server_framing import patch_ambiguous_framing
from trioapi._server_h2reset import patch_unfinished_stream_reset
from trioapi._server_idle import patch_idle_task

TCP_SERVER_MODULE = "hypercorn.trio.tcp_server"
# Releases whose trio TCPServer._close() sends EOF outside send_lock. Checked
# by reading and running 0.18.0; 0.17 ships the same TCPServer. A release
# outside this set is left alone until someone checks it.
AFFECTED_RELEASES = ("0.17.", "0.18.")

_PATCH_MARK = "__trioapi_patched__"

logger = logging.getLogger("trioapi")


def hypercorn_needs_patch(version: str | None = None) -> bool:
    """Whether this hypercorn release has the ``send_eof`` race (see module docstring)."""
    if version is None:
        try:
            version = importlib.metadata.version("hypercorn")
        except importlib.metadata.PackageNotFoundError:
            return False
    return version.startswith(AFFECTED_RELEASES)


def is_hypercorn_patched() -> bool:
    """Whether :func:`patch_hypercorn` has replaced ``TCPServer._close`` in this process."""
    module = sys.modules.get(TCP_SERVER_MODULE)
    if module is None:
        return False
    return bool(getattr(module.TCPServer._close, _PATCH_MARK, False))


def patch_hypercorn() -> bool:
    """Fix hypercorn's trio worker send race in this process, if its release needs it.

    Idempotent and cheap. Called by ``trioapi run``/``trioapi dev`` before
    serving, and by :class:`~trioapi.TrioAPI` at lifespan startup when
    hypercorn's trio worker is loaded (hypercorn runs the lifespan before it
    accepts the first connection).

    Returns:
        ``True`` if the fix is in place after the call, ``False`` when this
        hypercorn release is not known to need it (nothing is changed).
    """
    if not hypercorn_needs_patch():
        return False
    from hypercorn.trio import tcp_server

    # Not a crash fix: the same releases' idle task, made cheaper (_server_idle).
    patch_idle_task()
    # Nor this: request smuggling through Content-Length + Transfer-Encoding.
    patch_ambiguous_framing()
    # Nor this: an HTTP/2 response the app left unfinished hangs its client.
    patch_unfinished_stream_reset()
    server_class: Any = tcp_server.TCPServer
    if getattr(server_class._close, _PATCH_MARK, False):
        return True
    if not hasattr(server_class, "protocol_send"):
        # Not the shape this fix was written against: leave it alone.
        return False
    # Kept so the race can be shown against the original (tests, bug report).
    server_class.__trioapi_original_close__ = server_class._close
    server_class._close = _close_with_send_lock
    return True


def patch_hypercorn_if_loaded() -> bool:
    """:func:`patch_hypercorn`, but only when hypercorn's trio worker is already imported.

    Costs nothing (no import) in processes that are not served by it, such
    as test runs with ``TestClient``.
    """
    if TCP_SERVER_MODULE not in sys.modules:
        return False
    return patch_hypercorn()


# Errors send_eof() raises when the peer or another task already closed the
# stream; AttributeError: an SSL stream has no send_eof().
_EOF_ERRORS = (
    trio.BrokenResourceError,
    trio.ClosedResourceError,
    trio.BusyResourceError,
    AttributeError,
)


async def _close_with_send_lock(self: Any) -> None:
    """``TCPServer._close`` that never lets ``send_eof`` overlap another task's ``send_all``."""
    lock: trio.Lock | None = getattr(self, "send_lock", None)
    try:
        if lock is None or lock.locked():
            # Another task is sending (or holds the lock to send): closing the
            # stream below interrupts it with ClosedResourceError, which
            # protocol_send handles. Sending EOF first would race with it.
            pass
        else:
            lock.acquire_nowait()
            try:
                await self.stream.send_eof()
            except _EOF_ERRORS:
                pass
            finally:
                lock.release()
    finally:
        # Always release the socket, even if cancelled at send_eof's checkpoint.
        await self.stream.aclose()


_close_with_send_lock.__trioapi_patched__ = True  # type: ignore[attr-defined]


# -- a response start cut half-way by cancellation ---------------------------
#
# hypercorn's ``HTTPStream.app_send`` hands a response start to its protocol,
# which records it at once (h11 and h2 change state before their first
# checkpoint), and sets the stream's own state to RESPONSE only after the
# send returns. A cancellation at one of the send's checkpoints (the app's
# deadline, a disconnect) leaves the stream in state REQUEST with the
# protocol past the start; when the app returns, hypercorn answers 500 on
# top of it, and over HTTP/1.1 h11 refuses that with LocalProtocolError, which
# ends the whole worker. The app's send tracker calls the function below when
# a start's send was cancelled, so the stream's state says what its protocol
# did; hypercorn then ends the stream (closes the connection) instead.

HTTP_STREAM_MODULE = "hypercorn.protocol.http_stream"


def repair_cut_response_start(send: Callable[..., Awaitable[None]]) -> bool:
    """Tell hypercorn's stream that the response start its ``send`` was cut in went out.

    Call it only when a send of ``http.response.start`` raised
    ``trio.Cancelled``. A no-op (``False``) when ``send`` is not hypercorn's
    ``HTTPStream.app_send`` of a checked release and shape.
    """
    stream: Any = getattr(send, "__self__", None)
    if type(stream).__module__ != HTTP_STREAM_MODULE or not hypercorn_needs_patch():
        return False
    states: Any = getattr(sys.modules[HTTP_STREAM_MODULE], "ASGIHTTPState", None)
    request_state = getattr(states, "REQUEST", None)
    response_state = getattr(states, "RESPONSE", None)
    if (
        response_state is None
        or getattr(stream, "state", None) is not request_state
        or getattr(stream, "response", None) is None
    ):
        return False
    stream.state = response_state
    logger.info("A response start was cancelled half-way; hypercorn's stream state repaired")
    return True


# -- graceful shutdown under hypercorn's command line -----------------------
#
# Hypercorn's trio worker process runs ``trio_worker()``, which imports the
# user's module (constructing the TrioAPI) and then calls ``worker_serve(app,
# config, shutdown_trigger=...)``, looked up as a global of
# ``hypercorn.trio.run`` at call time. The trigger it passes is hypercorn's
# (a poll of the multiprocess shutdown event; ``None`` with ``--workers 0``),
# so the app hears of the shutdown only through the lifespan, which hypercorn
# runs after the connections are gone: too late to close WebSockets with 1001
# or end streams. Replacing that global, before ``trio_worker`` reaches it,
# lets the app wrap the trigger (``TrioAPI.shutdown_trigger``).
#
# Why this design and not another: a wrapper around the ASGI app cannot see
# the trigger fire; a lifespan hook hears of it only after graceful_timeout;
# the multiprocess event cannot be reached from the app without hypercorn's
# internals anyway. Rebinding one module global is the smallest change that
# gives the app the trigger, and it leaves ``hypercorn.trio.serve()`` (which
# bound ``worker_serve`` at its own import) untouched: programs that call it
# pass ``app.shutdown_trigger(...)`` themselves.

WORKER_RUN_MODULE = "hypercorn.trio.run"

ShutdownTrigger = Callable[[], Awaitable[object]]


def is_worker_serve_patched() -> bool:
    """Whether :func:`patch_hypercorn_worker_serve` has wrapped ``worker_serve`` in this process."""
    module = sys.modules.get(WORKER_RUN_MODULE)
    if module is None:
        return False
    return bool(getattr(module.worker_serve, _PATCH_MARK, False))


def patch_hypercorn_worker_serve() -> bool:
    """Give a served TrioAPI hypercorn's shutdown trigger, so its graceful shutdown runs.

    Wraps ``hypercorn.trio.run.worker_serve``: when the app it serves (under
    hypercorn's ``ASGIWrapper`` and any middleware exposing ``.app``) has a
    ``shutdown_trigger`` method, the trigger hypercorn passes becomes
    ``app.shutdown_trigger(trigger)``, so open WebSockets close with 1001 and
    streams end as soon as hypercorn decides to stop, before its hard cancel
    at ``graceful_timeout``. Where hypercorn passes no trigger
    (``--workers 0``), the trigger is the first SIGINT or SIGTERM; in a
    spawned worker (which ignores SIGINT: the parent handles it), a SIGTERM
    sent to the worker itself (``systemd`` signals the whole group) also
    begins the graceful shutdown instead of killing the worker. A second
    stop signal stops the process at once (``KeyboardInterrupt``).

    Idempotent. Called by ``trioapi run``/``trioapi dev`` and when a
    ``TrioAPI`` is constructed in a process that has already imported
    hypercorn's trio worker (see :func:`patch_hypercorn_worker_serve_if_loaded`).
    Apps that are not TrioAPI are served exactly as before.

    Returns:
        ``True`` if the wrapper is in place after the call, ``False`` when this
        hypercorn release is not one it was checked against (nothing changes).
    """
    if not hypercorn_needs_patch():
        return False
    from hypercorn.trio import run

    worker_run: Any = run  # its worker_serve is rebound below
    original: Any = worker_run.worker_serve
    if getattr(original, _PATCH_MARK, False):
        return True
    if not _has_checked_shape(worker_run, original):
        return False
    worker_run.worker_serve = _wrap_worker_serve(original)
    return True


def patch_hypercorn_worker_serve_if_loaded() -> bool:
    """:func:`patch_hypercorn_worker_serve`, only in a process that imported hypercorn's worker.

    Inside a hypercorn trio worker, ``hypercorn.trio.run`` is imported before
    the user's module, so the ``TrioAPI()`` call at its top level sees it and
    patches before ``worker_serve`` is called. Elsewhere (``TestClient``
    runs) it costs a dictionary lookup and imports nothing.
    """
    if WORKER_RUN_MODULE not in sys.modules:
        return False
    return patch_hypercorn_worker_serve()


def _has_checked_shape(module: Any, worker_serve: Any) -> bool:
    """Whether hypercorn's worker still looks as it did when this wrapper was written."""
    if not callable(worker_serve) or not hasattr(module, "trio_worker"):
        return False
    try:
        parameters = inspect.signature(worker_serve).parameters
    except (TypeError, ValueError):
        return False
    trigger = parameters.get("shutdown_trigger")
    return trigger is not None and trigger.kind is inspect.Parameter.KEYWORD_ONLY


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


def _wrap_worker_serve(original: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    async def worker_serve(app: Any, config: Any, *args: Any, **kwargs: Any) -> None:
        target = find_shutdown_target(app)
        given: ShutdownTrigger | None = kwargs.get("shutdown_trigger")
        if target is None:
            await original(app, config, *args, **kwargs)
        elif threading.current_thread() is not threading.main_thread():
            # Signal handlers can only be installed from the main thread.
            if given is not None:
                kwargs["shutdown_trigger"] = target.shutdown_trigger(given)
            await original(app, config, *args, **kwargs)
        else:
            await _serve_with_stop_signals(original, target, given, app, config, *args, **kwargs)

    worker_serve.__trioapi_patched__ = True  # type: ignore[attr-defined]
    worker_serve.__trioapi_original__ = original  # type: ignore[attr-defined]
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
    kwargs["shutdown_trigger"] = target.shutdown_trigger(trigger)
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
