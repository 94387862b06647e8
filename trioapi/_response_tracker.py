"""``ResponseTracker``: the ``send`` an app gets, recording the response's progress.

It tells the request context when the response starts and completes, adds
``Connection: close`` after a refused body, and bounds each send in time
(itself, or through the app's ``RequestWatchdog``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import trio

from trioapi.types import Message, Send

if TYPE_CHECKING:
    from trioapi._scopes import RequestContext
    from trioapi._watchdog import RequestWatchdog

__all__ = ["ResponseTracker"]

logger = logging.getLogger("trioapi")


class ResponseTracker:
    """Wraps ``send`` to record the response's progress and bound each send in time.

    With a watchdog, a send only records that it is in progress and the watchdog
    enforces it (a cancel scope per message costs more than most requests);
    without one, each send has its own cancel scope.
    """

    __slots__ = (
        "_before_last_send",
        "_context",
        "_send",
        "_watchdog",
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
        # Read by the watchdog: the timeout of the send in progress, if any,
        # and how many sends have started.
        self.send_timeout: float | None = None
        self.sends_started = 0

    async def __call__(self, message: Message) -> None:
        kind = message["type"]
        context = self._context
        if kind == "http.response.start":
            context.response_started = True
            if context.close_connection:
                headers = [*message.get("headers", ()), (b"connection", b"close")]
                message = {**message, "headers": headers}
        elif kind == "http.response.body" and not message.get("more_body", False):
            self._finish()
            if self._before_last_send is not None:
                self._before_last_send()
            # Watched: to a client that has gone, this send may wait for a
            # flow-control window that never opens (RequestWatchdog).
            context.last_send_in_progress = True
        elif kind == "websocket.accept" or kind == "websocket.http.response.start":
            context.response_started = True
        # Read per message: the route may have replaced the app's send timeout.
        timeout = context.send_timeout
        try:
            if not kind.startswith("http.response."):
                await self._send(message)
            elif self._watchdog is not None:
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
        finally:
            context.last_send_in_progress = False

    def sending_to_a_gone_client(self) -> bool:
        """Whether the last body message is being sent and the client has gone.

        Hypercorn also reports a stream it has just finished as gone from
        inside that send, so this holds for a moment on many requests; a
        send that stays in this state is stuck (see :meth:`abandon_last_send`).
        """
        context = self._context
        return (
            context.last_send_in_progress
            and context.client_disconnected
            and context.cancel_on_disconnect
        )

    def abandon_last_send(self) -> None:
        """Cancel the request in its stuck last send; background tasks then do not run.

        As in FastAPI when a send fails. Over HTTP/2 hypercorn leaves the send
        of a reset stream waiting for a flow-control window that never opens.
        """
        logger.info("Client went away during the last send; giving up on it")
        if self._context.request_cancel_scope is not None:
            self._context.request_cancel_scope.cancel()

    @property
    def context(self) -> RequestContext:
        """The request context this tracker records the response's progress in."""
        return self._context

    def on_send_timeout(self) -> None:
        # A client that reads nothing for send_timeout is treated as gone: the
        # handler is cancelled as on a disconnect (a streaming response must
        # not pin a task forever). A stuck last body message is a failed
        # send: the request is cancelled in it, so background tasks do not
        # run, as in FastAPI when a send fails.
        context = self._context
        logger.info("Client stopped reading the response; giving up on it")
        context.client_disconnected = True
        scope = context.request_cancel_scope
        if scope is not None and (not context.response_complete or context.last_send_in_progress):
            scope.cancel()

    def _finish(self) -> None:
        context = self._context
        context.response_complete = True
        # Background work after the response is not bound by the request deadline.
        request_scope = context.request_cancel_scope
        if request_scope is not None and request_scope.deadline != math.inf:
            request_scope.deadline = math.inf
