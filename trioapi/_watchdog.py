"""``RequestWatchdog``: one task per app that looks after requests running for a while.

Short requests finish before anything needs watching, so they get no task of
their own. Each tick the watchdog starts the receive pump of requests older
than ``WATCH_AFTER`` (so a disconnect cancels them) and cancels requests
whose response has been stuck in ``send`` past its send deadline (a client
that stopped reading). It runs in the app's lifespan nursery; without one,
requests start their pump at once and bound each send themselves.
"""

from __future__ import annotations

import math
import weakref
from typing import Protocol

import trio

from trioapi._receive import ReceivePump

__all__ = ["WATCH_AFTER", "RequestWatchdog", "watchdog_for"]

# A request older than this gets a task watching for its client to go away.
WATCH_AFTER = 0.05


class _Watched(Protocol):
    send_deadline: float

    def on_send_timeout(self) -> None: ...


class RequestWatchdog:
    """Starts pumps of long requests and enforces send deadlines, from one task."""

    def __init__(self, nursery: trio.Nursery) -> None:
        self._nursery = nursery
        # pump -> when its request started; insertion order is start order.
        self._unwatched: dict[ReceivePump, float] = {}
        self._sending: dict[_Watched, None] = {}
        self._wakeup = trio.Event()
        self._running = False

    def watch(self, pump: ReceivePump, started_at: float, watched: _Watched) -> None:
        """Look after one request from now until :meth:`forget`."""
        self._unwatched[pump] = started_at
        self._sending[watched] = None
        if not self._running:
            try:
                self._nursery.start_soon(self._run)
            except RuntimeError:
                # The app nursery closed (shutdown has begun): the last
                # requests go unwatched rather than failing.
                return
            self._running = True
        self._wakeup.set()

    def forget(self, pump: ReceivePump, watched: _Watched) -> None:
        """The request is over."""
        self._unwatched.pop(pump, None)
        self._sending.pop(watched, None)

    async def _run(self) -> None:
        while True:
            if not self._sending:
                self._wakeup = trio.Event()
                await self._wakeup.wait()
            await trio.sleep(WATCH_AFTER / 2)
            self._tick(trio.current_time())

    def _tick(self, now: float) -> None:
        cutoff = now - WATCH_AFTER
        for pump, started_at in list(self._unwatched.items()):
            if started_at > cutoff:
                break
            # A pump the app is reading inline cannot start; it is retried next tick.
            if pump.start(self._nursery):
                del self._unwatched[pump]
        for watched in list(self._sending):
            if watched.send_deadline <= now:
                watched.send_deadline = math.inf
                watched.on_send_timeout()


_WATCHDOGS: weakref.WeakKeyDictionary[trio.Nursery, RequestWatchdog] = weakref.WeakKeyDictionary()


def watchdog_for(app_nursery: trio.Nursery) -> RequestWatchdog:
    """The watchdog of the app whose lifespan nursery is ``app_nursery``."""
    watchdog = _WATCHDOGS.get(app_nursery)
    if watchdog is None:
        watchdog = _WATCHDOGS[app_nursery] = RequestWatchdog(app_nursery)
    return watchdog
