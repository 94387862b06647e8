"""``RequestWatchdog``: one task per lifespan that looks after requests running for a while.

Short requests finish before anything needs watching, so they get no task of
their own. Each tick the watchdog polls the server queue of requests older
than ``WATCH_AFTER`` (so a disconnect cancels them; a request still running
after ``TASK_AFTER`` gets a reading task instead), cancels requests
whose response has been stuck in ``send`` past its send deadline (a client
that stopped reading), and answers the deadline (504) of requests whose task
cannot be cancelled because it waits on a worker thread.

The lifespan owns it (``trioapi._lifespan.AppTasks``): it is made with the
app-task nursery, its task runs there, and it is handed to each request
(``serve_request(watchdog=)``); it is gone when the lifespan ends. Without a
lifespan, each request has a task of its own that does this for it and
bounds each send itself.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Protocol

import trio

from trioapi._receive import ReceivePump
from trioapi.types import Receive, Scope, Send

# Sends an answer on a request's behalf (the app's 503 at the hard cancel).
Responder = Callable[[Scope, Receive, Send], Awaitable[None]]

__all__ = ["WATCH_AFTER", "RequestWatchdog", "watch_one_request"]

# A request older than this gets a task watching for its client to go away.
WATCH_AFTER = 0.05
# Until a request is this old, the watchdog only polls its server queue
# (ReceivePump.poll) each tick; then it starts the reading task.
TASK_AFTER = 5.0
_TICK = WATCH_AFTER / 2


class _Watched(Protocol):
    # While a send is in progress: its timeout (inf: none); else None.
    send_timeout: float | None
    # How many sends have started, so a new send is told from a stuck one.
    sends_started: int

    def on_send_timeout(self) -> None: ...

    def sending_to_a_gone_client(self) -> bool: ...

    def abandon_last_send(self) -> None: ...

    def is_stuck_past_deadline(self, now: float) -> bool: ...

    def take_over(self) -> None: ...

    @property
    def is_taken_over(self) -> bool: ...

    async def answer_deadline(self) -> None: ...

    def can_answer_shutdown(self) -> bool: ...

    async def answer_shutdown(self, responder: Responder) -> None: ...


class RequestWatchdog:
    """Starts pumps of long requests and enforces send deadlines, from one task.

    Args:
        nursery: Where its task, the pumps it starts and the deadline
            answers it sends run: the lifespan's app-task nursery.
    """

    def __init__(self, nursery: trio.Nursery) -> None:
        self._nursery = nursery
        # pump -> when its request started; insertion order is start order.
        self._unwatched: dict[ReceivePump, float] = {}
        # watched -> (its sends_started, when a tick first saw that send in
        # progress, whether the last tick saw it sending to a gone client)
        self._sending: dict[_Watched, tuple[int, float, bool]] = {}
        self._wakeup = trio.Event()
        self._running = False

    @property
    def nursery(self) -> trio.Nursery:
        """The nursery its task and the tasks it starts run in."""
        return self._nursery

    def watch(self, pump: ReceivePump, started_at: float, watched: _Watched) -> None:
        """Look after one request from now until :meth:`forget`."""
        self._unwatched[pump] = started_at
        self._sending[watched] = _NOT_SEEN
        if not self._running:
            try:
                self._nursery.start_soon(self._run)
            except RuntimeError:
                # The app nursery closed (shutdown has begun): the last
                # requests go unwatched rather than failing.
                return
            self._running = True
        self._wakeup.set()

    def answer_unstarted(self, responder: Responder) -> None:
        """Answer with ``responder``, from here, every request that has started no response.

        Called once the server's hard cancel has had its chance: a request
        still here is waiting on work it cannot leave (a worker thread).
        (See ``ResponseTracker.can_answer_shutdown``: over HTTP/2 the stream is reset.)
        """
        for watched in list(self._sending):
            if watched.can_answer_shutdown():
                watched.take_over()
                self._nursery.start_soon(watched.answer_shutdown, responder)

    def forget(self, pump: ReceivePump, watched: _Watched) -> None:
        """The request is over."""
        self._unwatched.pop(pump, None)
        self._sending.pop(watched, None)

    async def _run(self) -> None:
        while True:
            if not self._sending:
                self._wakeup = trio.Event()
                await self._wakeup.wait()
            await trio.sleep(_TICK)
            self._tick(trio.current_time())

    def _tick(self, now: float) -> None:
        cutoff = now - WATCH_AFTER
        task_cutoff = now - TASK_AFTER
        for pump, started_at in list(self._unwatched.items()):
            if started_at > cutoff:
                break
            # Polled first: under load many requests pass WATCH_AFTER only
            # because others hold the scheduler, and a task costs more than
            # they do. A request still running after TASK_AFTER gets the task.
            if started_at > task_cutoff and pump.poll():
                continue
            # A pump the app is reading inline cannot start; it is retried next tick.
            if pump.start(self._nursery):
                del self._unwatched[pump]
        # A send is timed from the first tick that sees it in progress (the
        # sender only counts its sends: reading the clock per message costs
        # more than most messages), so it is given up on between its
        # timeout and one tick and a half later.
        # A last send to a client that has gone is abandoned when two ticks
        # in a row see it: a finished HTTP/2 or HTTP/1 stream is reported
        # gone from inside its last send, which returns at once.
        sending = self._sending
        for watched, (send_number, seen_at, seen_gone) in list(sending.items()):
            if watched.is_stuck_past_deadline(now):
                # Its task waits on something it cannot leave (a worker
                # thread): the deadline is answered for it, from here.
                watched.take_over()
                self._nursery.start_soon(watched.answer_deadline)
            timeout = watched.send_timeout
            if timeout is None:
                continue
            if send_number != watched.sends_started:
                sending[watched] = (watched.sends_started, now, False)
            elif now - seen_at >= timeout:
                watched.send_timeout = None
                watched.on_send_timeout()
            elif watched.sending_to_a_gone_client():
                if seen_gone:
                    watched.send_timeout = None
                    watched.abandon_last_send()
                else:
                    sending[watched] = (send_number, seen_at, True)


_NOT_SEEN = (-1, math.inf, False)


async def watch_one_request(
    pump: ReceivePump, nursery: trio.Nursery, watched: _Watched, guard: trio.CancelScope
) -> None:
    """The watchdog's work for one request of an app without a lifespan, until ``guard``.

    Starts the pump once the request has run ``WATCH_AFTER`` (a short
    request never reads the server unless the app does: FastAPI's apps never
    call ``receive()`` for a body they do not read), and answers a deadline
    the request's task cannot, because it waits on a thread. A checkpoint.
    """
    with guard:
        ticks_to_watch = math.ceil(WATCH_AFTER / _TICK)
        while True:
            # A poll rather than an event: nothing tells a task that another
            # task's cancel scope passed its deadline.
            await trio.sleep(_TICK)
            ticks_to_watch -= 1
            if ticks_to_watch <= 0 and not pump.started:
                # Not while the app reads inline: retried next tick.
                pump.start(nursery, shield=True)
            if watched.is_stuck_past_deadline(trio.current_time()):
                watched.take_over()
                break
    if watched.is_taken_over:
        await watched.answer_deadline()
