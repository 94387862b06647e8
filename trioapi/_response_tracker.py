"""``ResponseTracker``: the ``send`` an app gets, recording the response's progress.

It tells the request context when the response starts and completes, adds
``Connection: close`` after a refused body, bounds each send in time (itself,
or through the app's ``RequestWatchdog``), and keeps the message sequence the
server sees valid:

- a second ``http.response.start``, or a body message after the last one, is
  refused: logged, not sent, and the request is ended (cancelled) instead;
- a start whose send the request's cancellation cut half-way is reported to
  the server layer (``trioapi.server.repair_cut_response_start``): hypercorn
  has recorded the response but not its own state, and would answer a second,
  invalid response when the app returns;
- when the request is stuck past its deadline (its task waits on a worker
  thread that cannot be interrupted), the tracker answers the deadline on the
  app's behalf (:meth:`ResponseTracker.answer_deadline`) and drops whatever
  the app sends afterwards.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING

import trio

from trioapi._exception_groups import open_scope_nursery
from trioapi._request_state import CancelReason, ResponsePhase
from trioapi.server import (
    can_cancel_http2_stream,
    cancel_http2_stream,
    repair_cut_response_start,
)
from trioapi.types import Message, Receive, Scope, Send

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from trioapi._receive import ReceivePump
    from trioapi._scopes import RequestContext
    from trioapi._watchdog import RequestWatchdog

    TimeoutResponder = Callable[[Scope, Receive, Send], Awaitable[None]]

__all__ = ["DEADLINE_HANDLER_GRACE", "STUCK_AFTER", "ResponseTracker", "send_gateway_timeout"]

logger = logging.getLogger("trioapi")

# A request whose deadline passed this long ago without a response started is
# stuck (its task cannot be cancelled): the deadline is answered for it.
STUCK_AFTER = 0.025
# Seconds the answer to a passed deadline may take in all (a client that does not read).
ANSWER_GRACE = 5.0
# Seconds the app's handler for a passed deadline (its handler for 504,
# RequestTimeout or HTTPException) has to start its response; after that a
# bare 504 goes instead. A sync handler runs in a worker thread, which may
# wait for a free thread and cannot be interrupted.
DEADLINE_HANDLER_GRACE = 1.0
# A response start sent this close to the request's deadline (seconds) is
# shielded from it (see ResponseTracker._send_start_by_deadline).
START_SHIELD_WINDOW = 1.0

# The response's phases, as module names: compared on every message.
_NOT_STARTED = ResponsePhase.NOT_STARTED
_STARTED = ResponsePhase.STARTED
_ENDING = ResponsePhase.ENDING
_COMPLETE = ResponsePhase.COMPLETE
_INF = math.inf


class ResponseTracker:
    """Wraps ``send`` to record the response's progress and bound each send in time.

    With a watchdog, a send only records that it is in progress and the watchdog
    enforces it (a cancel scope per message costs more than most requests);
    without one, each send has its own cancel scope.

    Attributes:
        context: The request context this tracker records the response's progress in.
        on_timeout: Sends the deadline's answer (504), for :meth:`answer_deadline`.
        send_timeout: Read by the watchdog: the timeout of the send in progress, if any.
        sends_started: Read by the watchdog: how many sends have started.
    """

    __slots__ = (
        "_answered",
        "_pump",
        "_send",
        "_taken_over",
        "_watchdog",
        "context",
        "on_timeout",
        "send_timeout",
        "sends_started",
    )

    def __init__(
        self,
        send: Send,
        context: RequestContext,
        watchdog: RequestWatchdog | None = None,
        pump: ReceivePump | None = None,
        on_timeout: TimeoutResponder | None = None,
    ) -> None:
        self._send = send
        self.context = context
        self._watchdog = watchdog
        # The request's receive pump: told just before the last body message
        # is sent (it then drops what is left of a body the app did not
        # read); its receive is handed to on_timeout.
        self._pump = pump
        self.send_timeout: float | None = None
        self.sends_started = 0
        # Set once the deadline was answered on the app's behalf: its own
        # messages are dropped from then on.
        self._taken_over = False
        self._answered: trio.Event | None = None
        self.on_timeout = on_timeout

    @property
    def receive(self) -> Receive | None:
        """The request's ``receive`` (its pump's), handed to ``on_timeout``; ``None`` without one."""
        pump = self._pump
        return None if pump is None else pump.receive

    async def __call__(self, message: Message, *, for_app: bool = False) -> None:
        """Send ``message`` on, recording the response's progress. A checkpoint when sent.

        Once the deadline was answered on the app's behalf (:meth:`take_over`),
        the app's own messages are dropped; that answer passes ``for_app``.
        """
        if self._taken_over and not for_app:
            await self._drop(message)
            return
        kind = message["type"]
        context = self.context
        # Whether the send is timed (a response message); by the watchdog
        # when there is one, in this coroutine (one less per message).
        timed = True
        if kind == "http.response.body":
            if context.phase is not _STARTED:
                if context.phase is _NOT_STARTED:
                    raise RuntimeError(
                        f"{context.describe()}: the app sent a response body before "
                        "http.response.start. Send the start message first."
                    )
                await self._refuse(message, "a response body after the last one")
                return
            if not message.get("more_body", False):
                # Watched: to a client that has gone, this send may wait for a
                # flow-control window that never opens (RequestWatchdog).
                context.phase = _ENDING
                if context.deadline != _INF:
                    context.lift_deadline()
                if self._pump is not None:
                    watchdog = self._watchdog
                    self._pump.discard_rest(None if watchdog is None else watchdog.nursery)
        elif kind == "http.response.start":
            if context.phase is not _NOT_STARTED:
                await self._refuse(message, "a second response start")
                return
            # Only requests with a deadline (or already cancelled) pay. The
            # context knows both: its set_timeout() sets the request scope's
            # deadline, its cancel() records a reason first.
            if context.deadline != _INF or context.cancel_reason is not None:
                request_scope = context.request_cancel_scope
                if request_scope is not None:
                    await self._send_start_by_deadline(message, request_scope)
                    return
            context.phase = _STARTED
            if context.close_connection:
                headers = [*message.get("headers", ()), (b"connection", b"close")]
                message = {**message, "headers": headers}
        else:
            timed = False
            if kind == "websocket.accept" or kind == "websocket.http.response.start":
                context.phase = _STARTED
        try:
            if not timed:
                await self._send(message)
            elif self._watchdog is not None:
                # Counted also without a timeout: a last send to a client
                # that has gone is watched all the same. Read per message:
                # the route may have replaced the app's send timeout.
                timeout = context.limits.send_timeout
                self.sends_started += 1
                self.send_timeout = _INF if timeout is None else timeout
                await self._send(message)
            else:
                await self._send_timed(message)
        except trio.Cancelled:
            if kind == "http.response.start":
                # Cut half-way by the request's cancellation (a deadline, a
                # disconnect, a send timeout): hypercorn has recorded the
                # start but not its own state, and would answer a second,
                # invalid response when the app returns. Not a shield around
                # every start instead: a cancel scope costs more than a small
                # request does.
                repair_cut_response_start(self._send)
            raise
        finally:
            if context.phase is _ENDING:
                context.phase = _COMPLETE
            self.send_timeout = None

    def _note_watched_send(self) -> None:
        # As __call__ does for the messages it times itself.
        timeout = self.context.limits.send_timeout
        self.sends_started += 1
        self.send_timeout = math.inf if timeout is None else timeout

    async def _send_start_by_deadline(self, message: Message, scope: trio.CancelScope) -> None:
        """Send the start of a request that has a deadline: none once it passed, else whole.

        A request past its deadline (one that waited on a worker thread, or
        ran without a checkpoint) sends no start: Cancelled is raised here and
        its deadline is answered (504) once the request scope is left. (To a
        client that left, a start is sent as ever: the server drops it.)

        Otherwise, within :data:`START_SHIELD_WINDOW` of the deadline, the
        start is sent shielded from it. Hypercorn records a start in its
        protocol state (h11, h2) before it writes it; a deadline passing while
        the write waits (a socket slow to take it) would cut it half-way, and
        the client would get a closed connection with no status at all, since
        a second status line is refused. Sent whole, the start is followed by
        the deadline ending the stream, as for any response that had started;
        the send timeout still bounds it. Further from the deadline, only a
        client that takes nothing for that long meets the closed connection.
        """
        context = self.context
        now = trio.current_time()
        if scope.deadline <= now or (
            scope.cancel_called and context.why_cancelled() is CancelReason.DEADLINE
        ):
            try:
                # A schedule point first: Trio turns a passed deadline into a
                # cancellation there, and this raises it. (Not in the task
                # that answers the deadline: it is outside the request scope.)
                await trio.lowlevel.checkpoint()
            except trio.Cancelled:
                self._log_dropped(message, "the request's deadline passed before it started")
                raise
        context.phase = _STARTED
        if context.close_connection:
            headers = [*message.get("headers", ()), (b"connection", b"close")]
            message = {**message, "headers": headers}
        if scope.deadline - now > START_SHIELD_WINDOW:
            # Far from the deadline: a start is written long before it
            # passes, unless the client reads nothing; no shield to pay for.
            try:
                await self._send_timed(message)
            except trio.Cancelled:
                repair_cut_response_start(self._send)  # see __call__
                raise
            return
        timeout = context.limits.send_timeout
        with trio.CancelScope(shield=True) as shield:
            # The watchdog's send deadline cannot reach through the shield:
            # the shield's own (a tick later than the watchdog's) stands in.
            shield.deadline = math.inf if timeout is None else now + timeout + STUCK_AFTER * 2
            await self._send_timed(message)
        if shield.cancelled_caught:  # the client took nothing for the send timeout
            repair_cut_response_start(self._send)
            if context.cancel_reason is not CancelReason.SEND_TIMEOUT:
                self.on_send_timeout()
            await trio.lowlevel.checkpoint()

    async def _send_timed(self, message: Message) -> None:
        # Read per message: the route may have replaced the app's send timeout.
        timeout = self.context.limits.send_timeout
        if self._watchdog is not None:
            # The start of a request with a deadline comes here (__call__
            # counts its other sends itself, in its own coroutine).
            self._note_watched_send()
            try:
                await self._send(message)
            finally:
                self.send_timeout = None
        elif timeout is None:
            await self._send(message)
        else:
            with trio.move_on_after(timeout) as send_scope:
                await self._send(message)
            if send_scope.cancelled_caught:
                if message["type"] == "http.response.start":
                    repair_cut_response_start(self._send)  # see __call__
                self.on_send_timeout()

    async def _refuse(self, message: Message, what: str) -> None:
        """Keep an invalid message from the server and end the request instead."""
        context = self.context
        logger.error(
            "%s: the app sent %s (%s); it was not sent and the request is ended",
            context.describe(),
            what,
            message["type"],
        )
        if context.request_cancel_scope is None:
            raise RuntimeError(f"{context.describe()}: the app sent {what}.")
        context.cancel(CancelReason.INVALID_RESPONSE)
        await trio.lowlevel.checkpoint()

    async def _drop(self, message: Message) -> None:
        # The deadline was answered for the app while it was stuck; what it
        # sends once it is back (its result) has nowhere to go.
        self._log_dropped(message, "the request already answered its deadline")
        await trio.lowlevel.checkpoint()

    def is_stuck_past_deadline(self, now: float) -> bool:
        """Whether the deadline passed :data:`STUCK_AFTER` ago and nothing answered it.

        A request whose task can be cancelled answers its own deadline at
        once; one still silent here is waiting on something that cannot be
        interrupted, such as a worker thread.
        """
        context = self.context
        request_scope = context.request_cancel_scope
        return (
            request_scope is not None
            and context.phase is _NOT_STARTED
            and not self._taken_over
            and context.cancel_reason is None
            and not context.client_disconnected
            and self.on_timeout is not None
            and request_scope.deadline + STUCK_AFTER <= now
        )

    @property
    def is_taken_over(self) -> bool:
        """Whether the deadline is answered for the app (its own messages are dropped)."""
        return self._taken_over

    def take_over(self) -> None:
        """From now on, the app's own messages are dropped; call :meth:`answer_deadline` next."""
        self._taken_over = True
        self.context.answered_for_app = True
        self._answered = trio.Event()

    async def answer_deadline(self) -> None:
        """Answer the deadline (504) on the stuck app's behalf. A checkpoint.

        Run in a task of its own (the watchdog's nursery), after :meth:`take_over`.
        """
        if self.on_timeout is not None:
            await self._answer_for_app(
                partial(self._answer_within_grace, partial(self, for_app=True)),
                CancelReason.DEADLINE,
                "deadline passed",
            )

    def can_answer_shutdown(self) -> bool:
        """Whether :meth:`answer_shutdown` can answer: no response started, nothing answers yet.

        Over HTTP/2 only if the server layer can reset the stream: hypercorn
        sends HTTP/2 body frames from a task of the connection that its hard
        cancel has ended, so no answer could go out whole.
        """
        context = self.context
        return (
            context.phase is _NOT_STARTED
            and not self._taken_over
            and self.receive is not None
            and not context.client_disconnected
            and (_is_http1(context.scope) or can_cancel_http2_stream(self._send))
        )

    async def answer_shutdown(self, responder: TimeoutResponder) -> None:
        """Answer with ``responder`` (503) for a request the server's hard cancel could not end.

        A checkpoint. Run in a task of its own (the watchdog's nursery), after
        :meth:`take_over` (see :meth:`can_answer_shutdown`). The answer says
        ``Connection: close``; over HTTP/2 the stream is reset (``CANCEL``)
        instead, as async work is cut at that moment.
        """
        context = self.context
        context.close_connection = True
        receive = self.receive

        async def answer() -> None:
            if not _is_http1(context.scope):
                await cancel_http2_stream(self._send)
            elif receive is not None:
                with trio.move_on_after(ANSWER_GRACE):
                    await responder(context.scope, receive, partial(self, for_app=True))

        await self._answer_for_app(
            answer, CancelReason.SHUTDOWN, "the server's graceful timeout passed"
        )

    async def _answer_for_app(
        self, answer: Callable[[], Awaitable[None]], reason: CancelReason, what: str
    ) -> None:
        """Log why, then ``answer()`` for the app, unless a response has started. A checkpoint."""
        answered = self._answered
        try:
            context = self.context
            if self.receive is None or context.phase is not _NOT_STARTED:
                return
            if context.cancel_reason is None:
                context.cancel_reason = reason
            logger.info(
                "%s: %s while the request waits on work it cannot interrupt "
                "(a worker thread); answered now, its result is dropped when it returns",
                context.describe(),
                what,
            )
            await answer()
        finally:
            if answered is not None:
                answered.set()

    async def answer_own_deadline(self) -> None:
        """Answer the deadline the request's own task has just caught. A checkpoint.

        Run shielded, once the request scope is left; see :meth:`_answer_within_grace`.
        """
        context = self.context
        if context.phase is _NOT_STARTED and not self._taken_over:
            await self._answer_within_grace(self)

    async def _answer_within_grace(self, send: Send) -> None:
        """Answer the deadline with ``on_timeout`` (the app's handler for it) through ``send``.

        The handler has :data:`DEADLINE_HANDLER_GRACE` seconds to start its
        response. It runs in a task of its own, because a sync handler waits
        on a worker thread that cannot be interrupted: once the grace is over
        without a start, a bare 504 goes from here, and what the handler sends
        later is dropped. The whole answer is bounded by :data:`ANSWER_GRACE`.
        """
        context = self.context
        responder, receive = self.on_timeout, self.receive
        if responder is None or receive is None:
            return
        # Set when the handler's start goes out, or the handler is done.
        settled = trio.Event()
        start_sent = cut_off = False

        async def handler_send(message: Message) -> None:
            nonlocal start_sent
            if cut_off:
                self._log_dropped(message, "the deadline's bare 504 went in its place")
                await trio.lowlevel.checkpoint()
                return
            if message["type"] == "http.response.start":
                start_sent = True
                settled.set()
            await send(message)

        async def run_handler() -> None:
            try:
                await responder(context.scope, receive, handler_send)
            finally:
                settled.set()

        with trio.move_on_after(ANSWER_GRACE):
            async with open_scope_nursery() as nursery:
                nursery.start_soon(run_handler)
                with trio.move_on_after(DEADLINE_HANDLER_GRACE):
                    await settled.wait()
                if not start_sent:
                    cut_off = True
                    logger.warning(
                        "%s: the handler for the passed deadline did not start a response %s; "
                        "a bare 504 is sent instead",
                        context.describe(),
                        "(it ended without one)"
                        if settled.is_set()
                        else f"within {DEADLINE_HANDLER_GRACE} s",
                    )
                    nursery.cancel_scope.cancel()  # a thread is still waited for
                    with trio.CancelScope(shield=True):
                        await send_gateway_timeout(context.scope, receive, send)

    def _log_dropped(self, message: Message, why: str) -> None:
        if message["type"] == "http.response.start":
            logger.debug(
                "%s: response %s dropped; %s", self.context.describe(), message.get("status"), why
            )

    async def wait_answered(self) -> None:
        """Wait until an answer on the app's behalf is sent whole. A checkpoint if there is one."""
        if self._answered is not None:
            # Shielded: the request must not return to the server while the
            # answer is half sent; answer_deadline bounds itself.
            with trio.CancelScope(shield=True):
                await self._answered.wait()

    def sending_to_a_gone_client(self) -> bool:
        """Whether the last body message is being sent and the client has gone.

        Hypercorn also reports a stream it has just finished as gone from
        inside that send, so this holds for a moment on many requests; a
        send that stays in this state is stuck (see :meth:`abandon_last_send`).
        """
        context = self.context
        return (
            context.phase is _ENDING
            and context.client_disconnected
            and context.limits.cancel_on_disconnect
        )

    def abandon_last_send(self) -> None:
        """Cancel the request in its stuck last send; background tasks then do not run.

        As in FastAPI when a send fails. Over HTTP/2 hypercorn leaves the send
        of a reset stream waiting for a flow-control window that never opens.
        """
        logger.info("Client went away during the last send; giving up on it")
        self.context.cancel(CancelReason.DISCONNECT)

    def on_send_timeout(self) -> None:
        # A client that reads nothing for send_timeout is given up on: the
        # handler is cancelled (a streaming response must not pin a task
        # forever), for its own reason: the client has not been seen to go.
        # A stuck last body message is a failed send: the request is
        # cancelled in it, so background tasks do not run, as in FastAPI
        # when a send fails.
        context = self.context
        logger.info("Client stopped reading the response; giving up on it")
        if context.phase is not _COMPLETE:
            context.cancel(CancelReason.SEND_TIMEOUT)


async def send_gateway_timeout(scope: Scope, receive: Receive, send: Send) -> None:
    """Send the bare answer to a passed deadline: 504 ``{"detail":"Gateway Timeout"}``."""
    body = b'{"detail":"Gateway Timeout"}'
    await send(
        {
            "type": "http.response.start",
            "status": 504,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _is_http1(scope: Scope) -> bool:
    return scope.get("http_version", "1.1") in ("1.0", "1.1")
