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
from collections.abc import Callable
from typing import TYPE_CHECKING

import trio

from trioapi._request_state import CancelReason, ResponsePhase
from trioapi.server import repair_cut_response_start
from trioapi.types import Message, Receive, Scope, Send

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from trioapi._scopes import RequestContext
    from trioapi._watchdog import RequestWatchdog

    TimeoutResponder = Callable[[Scope, Receive, Send], Awaitable[None]]

__all__ = ["STUCK_AFTER", "ResponseTracker"]

logger = logging.getLogger("trioapi")

# A request whose deadline passed this long ago without a response started is
# stuck (its task cannot be cancelled): the deadline is answered for it.
STUCK_AFTER = 0.025
# Seconds the answer on the app's behalf may take (a client that does not read).
ANSWER_GRACE = 5.0

# The response's phases, as module names: compared on every message.
_NOT_STARTED = ResponsePhase.NOT_STARTED
_STARTED = ResponsePhase.STARTED
_ENDING = ResponsePhase.ENDING
_COMPLETE = ResponsePhase.COMPLETE


class ResponseTracker:
    """Wraps ``send`` to record the response's progress and bound each send in time.

    With a watchdog, a send only records that it is in progress and the watchdog
    enforces it (a cancel scope per message costs more than most requests);
    without one, each send has its own cancel scope.

    Attributes:
        on_timeout: Sends the deadline's answer (504), for :meth:`answer_deadline`.
        receive: The request's ``receive``, handed to ``on_timeout``.
        send_timeout: Read by the watchdog: the timeout of the send in progress, if any.
        sends_started: Read by the watchdog: how many sends have started.
    """

    __slots__ = (
        "_answered",
        "_before_last_send",
        "_context",
        "_send",
        "_taken_over",
        "_watchdog",
        "on_timeout",
        "receive",
        "send_timeout",
        "sends_started",
    )

    def __init__(
        self,
        send: Send,
        context: RequestContext,
        watchdog: RequestWatchdog | None = None,
        *,
        before_last_send: Callable[[], None] | None = None,
    ) -> None:
        self._send = send
        self._context = context
        self._watchdog = watchdog
        # Called just before the last body message is sent (the receive pump
        # then drops what is left of a body the app did not read).
        self._before_last_send = before_last_send
        self.send_timeout: float | None = None
        self.sends_started = 0
        # Set once the deadline was answered on the app's behalf: its own
        # messages are dropped from then on.
        self._taken_over = False
        self._answered: trio.Event | None = None
        self.on_timeout: TimeoutResponder | None = None
        self.receive: Receive | None = None

    def __call__(self, message: Message) -> Awaitable[None]:
        # A plain function returning the coroutine to await: one coroutine
        # per message rather than two, on every response's path.
        if self._taken_over:
            return self._drop(message)
        return self._forward(message)

    async def _forward(self, message: Message) -> None:
        kind = message["type"]
        context = self._context
        if kind == "http.response.start":
            if context.phase is not _NOT_STARTED:
                await self._refuse(message, "a second response start")
                return
            # A request past its deadline (which passed while it waited on a
            # thread, which Trio does not interrupt) sends no start: its
            # deadline is answered instead. The scope's flag first: checking
            # the task costs a coroutine, and the 504 itself is sent once the
            # request scope is left. (To a client that left, a start is sent
            # as ever: the server drops it.)
            request_scope = context.request_cancel_scope
            try:
                if (
                    request_scope is not None
                    and request_scope.cancel_called
                    and context.why_cancelled() is CancelReason.DEADLINE
                ):
                    await trio.lowlevel.checkpoint_if_cancelled()
            except trio.Cancelled:
                logger.debug(
                    "%s: response %s dropped; the request's deadline passed before it started",
                    context.describe(),
                    message.get("status"),
                )
                raise
            context.phase = _STARTED
            if context.close_connection:
                headers = [*message.get("headers", ()), (b"connection", b"close")]
                message = {**message, "headers": headers}
        elif kind == "http.response.body":
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
                self._finish()
                if self._before_last_send is not None:
                    self._before_last_send()
        elif kind == "websocket.accept" or kind == "websocket.http.response.start":
            context.phase = _STARTED
        try:
            if not kind.startswith("http.response."):
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

    async def _send_timed(self, message: Message) -> None:
        # Read per message: the route may have replaced the app's send timeout.
        timeout = self._context.send_timeout
        if self._watchdog is not None:
            # Counted also without a timeout: a last send to a client that
            # has gone is watched for all the same.
            self.sends_started += 1
            self.send_timeout = math.inf if timeout is None else timeout
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
                self.on_send_timeout()

    async def _refuse(self, message: Message, what: str) -> None:
        """Keep an invalid message from the server and end the request instead."""
        context = self._context
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
        if message["type"] == "http.response.start":
            logger.debug(
                "%s: response %s dropped; the request already answered its deadline",
                self._context.describe(),
                message.get("status"),
            )
        await trio.lowlevel.checkpoint()

    def is_stuck_past_deadline(self, now: float) -> bool:
        """Whether the deadline passed :data:`STUCK_AFTER` ago and nothing answered it.

        A request whose task can be cancelled answers its own deadline at
        once; one still silent here is waiting on something that cannot be
        interrupted, such as a worker thread.
        """
        context = self._context
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
        self._context.answered_for_app = True
        self._answered = trio.Event()

    async def answer_deadline(self) -> None:
        """Answer the deadline (504) on the stuck app's behalf. A checkpoint.

        Run in a task of its own (the watchdog's nursery), after :meth:`take_over`.
        """
        answered = self._answered
        try:
            context = self._context
            if self.on_timeout is None or self.receive is None or context.phase is not _NOT_STARTED:
                return
            if context.cancel_reason is None:
                context.cancel_reason = CancelReason.DEADLINE
            logger.info(
                "%s: deadline passed while the request waits on work it cannot interrupt "
                "(a worker thread); answered now, its result is dropped when it returns",
                self._context.describe(),
            )
            with trio.move_on_after(ANSWER_GRACE):
                await self.on_timeout(self._context.scope, self.receive, self._forward)
        finally:
            if answered is not None:
                answered.set()

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
        context = self._context
        return (
            context.phase is _ENDING
            and context.client_disconnected
            and context.cancel_on_disconnect
        )

    def abandon_last_send(self) -> None:
        """Cancel the request in its stuck last send; background tasks then do not run.

        As in FastAPI when a send fails. Over HTTP/2 hypercorn leaves the send
        of a reset stream waiting for a flow-control window that never opens.
        """
        logger.info("Client went away during the last send; giving up on it")
        self._context.cancel(CancelReason.DISCONNECT)

    @property
    def context(self) -> RequestContext:
        """The request context this tracker records the response's progress in."""
        return self._context

    def on_send_timeout(self) -> None:
        # A client that reads nothing for send_timeout is given up on: the
        # handler is cancelled (a streaming response must not pin a task
        # forever), for its own reason: the client has not been seen to go.
        # A stuck last body message is a failed send: the request is
        # cancelled in it, so background tasks do not run, as in FastAPI
        # when a send fails.
        context = self._context
        logger.info("Client stopped reading the response; giving up on it")
        if context.phase is not _COMPLETE:
            context.cancel(CancelReason.SEND_TIMEOUT)

    def _finish(self) -> None:
        context = self._context
        context.phase = _ENDING
        # Background work after the response is not bound by the request deadline.
        request_scope = context.request_cancel_scope
        if request_scope is not None and request_scope.deadline != math.inf:
            request_scope.deadline = math.inf
