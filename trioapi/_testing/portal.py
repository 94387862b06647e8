"""A Trio loop in a helper thread, for the blocking test client."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import trio

T = TypeVar("T")


class LoopThread:
    """Runs ``trio.run`` in a daemon thread and lets other threads call into it."""

    def __init__(self) -> None:
        self._ready = threading.Event()
        self._token: trio.lowlevel.TrioToken | None = None
        self._stop: trio.Event | None = None
        self.nursery: trio.Nursery | None = None
        self._thread = threading.Thread(target=self._run, name="trioapi-testclient", daemon=True)
        self._crash: BaseException | None = None
        self._thread.start()
        self._ready.wait()
        if self._crash is not None:  # pragma: no cover - trio failed to start
            raise self._crash

    def _run(self) -> None:
        try:
            trio.run(self._main)
        except BaseException as exc:  # pragma: no cover - reported to the starting thread
            self._crash = exc
            self._ready.set()

    async def _main(self) -> None:
        self._stop = trio.Event()
        async with trio.open_nursery() as nursery:
            self.nursery = nursery
            self._token = trio.lowlevel.current_trio_token()
            self._ready.set()
            await self._stop.wait()
            nursery.cancel_scope.cancel()

    def run(self, afn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Call ``await afn(*args)`` in the loop and return its result here."""
        return trio.from_thread.run(afn, *args, trio_token=self._token)

    def run_sync(self, fn: Callable[..., T], *args: Any) -> T:
        """Call ``fn(*args)`` in the loop's thread."""
        return trio.from_thread.run_sync(fn, *args, trio_token=self._token)

    def stop_after(self, event: trio.Event) -> None:
        """Stop the loop (as :meth:`close` does, without waiting) once ``event`` is set."""

        async def stop_when_set() -> None:
            await event.wait()
            assert self._stop is not None
            self._stop.set()

        assert self.nursery is not None
        self.run_sync(self.nursery.start_soon, stop_when_set)

    def close(self) -> None:
        """Stop the loop (cancelling what still runs in it) and join the thread."""
        if self._thread.is_alive() and self._stop is not None:
            try:
                self.run_sync(self._stop.set)
            except trio.RunFinishedError:  # pragma: no cover - already stopped
                pass
            self._thread.join()
