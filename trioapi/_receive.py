"""``ReceivePump``: the only caller of the server's ``receive()`` for one HTTP request.

It enforces the body size limit, the read deadline and the minimum body rate, drains the body after the
app is done (an undrained HTTP/2 stream stalls its whole connection) and turns
``http.disconnect`` into cancellation of the request scope.

It starts without a task: while the app reads the body, it reads the server
inline, in the app's own task. Noticing a disconnect while the app is busy
elsewhere needs a task waiting on the server, and a task costs more than a
short request does, so :meth:`ReceivePump.start` runs one only when asked,
once the request has run for a while: by the app's
:class:`~trioapi._watchdog.RequestWatchdog`, or without one by a task of
the request's own. Either way a disconnect cancels the handler at its next checkpoint.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Protocol

import trio

from trioapi._request_state import CancelReason, ResponsePhase
from trioapi._settings import Limits
from trioapi.exceptions import HTTPException
from trioapi.types import Message, Receive, Scope

__all__ = ["BODY_RATE_GRACE", "DRAIN_GRACE", "ReceivePump"]

DRAIN_GRACE = 5.0
# Seconds from the first read that waits before ``min_body_rate`` counts: a
# client may start slowly; one that trickles is cut this long after the start
# plus one second per ``min_body_rate`` bytes it has sent.
BODY_RATE_GRACE = 10.0
_DISCONNECT: Message = {"type": "http.disconnect"}
_INF = math.inf
# Body messages poll() keeps for an app that has not read them yet: as many
# as the task's channel holds.
_STASH_LIMIT = 4


class _Context(Protocol):
    """What the pump needs of a ``RequestContext``."""

    client_disconnected: bool
    close_connection: bool
    phase: ResponsePhase
    # cancel_on_disconnect and the body limits: max_body_size, body_timeout, min_body_rate.
    limits: Limits

    def cancel(self, reason: CancelReason) -> None: ...


class ReceivePump:
    """Reads the request from the server for the app, inline or from a task."""

    __slots__ = (
        "_app_done",
        "_body_complete",
        "_body_event",
        "_context",
        "_declared_lengths",
        "_disconnect_event",
        "_disconnected",
        "_from_pump",
        "_has_no_body",
        "_is_http1",
        "_reading_inline",
        "_received_bytes",
        "_server_receive",
        "_stash",
        "_task_scope",
        "_waiting_since",
    )

    def __init__(self, receive: Receive, context: _Context, scope: Scope) -> None:
        self._server_receive = receive
        self._context = context
        # One pass over the headers: what the body framing says. A tuple: most
        # requests declare no length, and the empty one is no new object.
        declared: tuple[bytes, ...] = ()
        chunked = False
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                declared = (*declared, value)
            elif name == b"transfer-encoding":
                chunked = True
        self._declared_lengths = declared
        self._waiting_since = _INF
        self._received_bytes = 0
        self._body_complete = False
        # An HTTP/1.x request without Content-Length or Transfer-Encoding has
        # no body (RFC 9112 §6.3): nothing is left to drain after the app.
        self._is_http1 = scope.get("http_version", "1.1") in ("1.1", "1.0")
        self._has_no_body = self._is_http1 and not declared and not chunked
        self._disconnected = False
        self._reading_inline = False
        self._app_done = False
        # Made only when a task is started or someone waits: most requests need neither.
        self._body_event: trio.Event | None = None
        self._disconnect_event: trio.Event | None = None
        self._task_scope: trio.CancelScope | None = None
        self._from_pump: trio.MemoryReceiveChannel[Message] | None = None
        # Body messages poll() took from the server before the app asked for them.
        self._stash: list[Message] | None = None

    @property
    def started(self) -> bool:
        """Whether a task reads the server now (the app reads from it)."""
        return self._task_scope is not None

    def start(self, nursery: trio.Nursery, *, shield: bool = False) -> bool:
        """Start the reading task in ``nursery``; ``False`` when it cannot start now.

        It cannot while the app is inside an inline read (two readers of one
        server queue would split its messages); the caller may try again.
        It is not needed once the client is known to be gone. ``shield``
        keeps a cancellation from outside the nursery out of the task, for a
        nursery inside the request (the request's end stops the task): it
        must not surface from there after the app has answered.
        """
        if self._task_scope is not None or self._reading_inline or self._disconnected:
            return self._task_scope is not None
        self._task_scope = trio.CancelScope(shield=shield)
        to_app, self._from_pump = trio.open_memory_channel[Message](_STASH_LIMIT)
        nursery.start_soon(self._run, self._task_scope, to_app)
        return True

    def poll(self) -> bool:
        """Take what the server has queued, without a task; ``False`` if that cannot be done.

        What the watchdog does first for a request that has run for a while:
        under load most requests live past ``WATCH_AFTER`` only because
        others hold the scheduler, and a task costs more than such a request.
        A disconnect already queued cancels the request now; body messages
        taken are kept for the app, in order (a few at most: then the app
        must read first, as with the task). ``False`` when the server's
        ``receive`` is not a memory channel's (it can only be awaited): then
        :meth:`start` the task.
        """
        if self._task_scope is not None or self._reading_inline or self._disconnected:
            return True
        receive_nowait = _nowait_twin(self._server_receive)
        if receive_nowait is None:
            return False
        while self._stash is None or len(self._stash) < _STASH_LIMIT:
            try:
                message = receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel, trio.ClosedResourceError):
                break
            if not self._note(message):
                break  # the client has gone: the request is cancelled
            if not self._app_done and message["type"] == "http.request":
                if self._stash is None:
                    self._stash = []
                self._stash.append(message)
        return True

    def stop(self) -> None:
        """Cancel the reading task, if any (the request is over)."""
        if self._task_scope is not None:
            self._task_scope.cancel()

    async def _run(
        self, task_scope: trio.CancelScope, to_app: trio.MemorySendChannel[Message]
    ) -> None:
        with task_scope:
            async with to_app:
                while True:
                    message = await self._server_receive()
                    if not self._note(message):
                        return
                    if not self._app_done and message["type"] == "http.request":
                        await to_app.send(message)

    def _note(self, message: Message) -> bool:
        """Account for one message from the server; ``False`` when the client has gone."""
        kind = message["type"]
        if kind == "http.disconnect":
            self._on_disconnect()
            return False
        if kind == "http.request":
            self._received_bytes += len(message.get("body", b""))
            if not message.get("more_body", False):
                self._mark_body_complete()
        return True

    def _mark_body_complete(self) -> None:
        self._body_complete = True
        if self._body_event is not None:
            self._body_event.set()

    def _on_disconnect(self) -> None:
        self._disconnected = True
        self._mark_body_complete()
        if self._disconnect_event is not None:
            self._disconnect_event.set()
        context = self._context
        context.client_disconnected = True
        # Not during the last body message's send: hypercorn reports the
        # disconnect of a stream it has just finished from inside that send
        # (the watchdog cancels such a send if it stays stuck).
        if context.limits.cancel_on_disconnect and context.phase < ResponsePhase.ENDING:
            context.cancel(CancelReason.DISCONNECT)

    async def receive(self) -> Message:
        """The ``receive`` the app sees: body messages, then ``http.disconnect``.

        Waits for the next body message or the disconnect; a checkpoint
        unless the server had the message queued (see :meth:`_queued_message`).

        Raises:
            HTTPException: 413 when the body exceeds the size limit, 408 when
                the client is too slow to send it, 400 for a bad Content-Length.
        """
        # Both limits are read from the context on each read, not when the
        # pump is made: the route the request reaches may replace the app's
        # before it reads the body.
        limit = self._context.limits.max_body_size
        if limit is not None and self._received_bytes == 0:
            self._check_declared_length(limit)
        if self._disconnected:
            await trio.lowlevel.checkpoint()
            return _DISCONNECT
        message = self._queued_message()
        if message is None:
            message = await self._wait_for_message()
        if limit is not None and self._received_bytes > limit:
            raise self._refuse(413, "Request body is too large")
        return message

    async def _wait_for_message(self) -> Message:
        """The next message, waited for within the read deadline and the rate limit."""
        context = self._context
        body_timeout = context.limits.body_timeout
        min_rate = context.limits.min_body_rate
        if (
            self._body_complete
            or (body_timeout is None and not min_rate)
            or self._declared_bytes_are_in()
        ):
            # Nothing the client could be slow to send: hypercorn follows the
            # body with an empty end-of-body message of its own.
            return await self._next_message()
        # Both limits count from the first read that has to wait.
        if self._waiting_since == math.inf:
            self._waiting_since = trio.current_time()
        deadline = math.inf if body_timeout is None else self._waiting_since + body_timeout
        # The rate limit: each min_rate bytes received buy one more second
        # after the grace period, so a trickle is cut however steady it is.
        rate_deadline = math.inf
        if min_rate:
            rate_deadline = self._waiting_since + BODY_RATE_GRACE + self._received_bytes / min_rate
        # A bare cancel scope: trio.fail_at's context-manager wrapper costs
        # more than a small body's whole read.
        with trio.CancelScope(deadline=min(deadline, rate_deadline)) as read_scope:
            message = await self._next_message()
        if read_scope.cancelled_caught:
            if rate_deadline < deadline:
                raise self._refuse(408, "Request body was received too slowly")
            raise self._refuse(408, "Request body was not received in time")
        return message

    def _queued_message(self) -> Message | None:
        """The server's next message if it is already queued, else ``None``.

        Hypercorn's ``receive`` is a Trio memory channel's: a message that
        is already there (a small body arrives with the request head) is
        taken without waiting, so it needs no read deadline (a cancel scope
        costs more than the rest of the read) and no trip through the
        scheduler. Any other ``receive`` is only ever awaited.
        """
        if self._stash:
            return self._stash.pop(0)  # noted when poll() took it
        if self._from_pump is not None:
            return None
        receive_nowait = _nowait_twin(self._server_receive)
        if receive_nowait is None:
            return None
        try:
            message = receive_nowait()
        except (trio.WouldBlock, trio.EndOfChannel, trio.ClosedResourceError):
            return None  # the awaited read waits, or raises as it would have
        self._note(message)
        return message

    async def _next_message(self) -> Message:
        if self._from_pump is not None:
            try:
                return await self._from_pump.receive()
            except trio.EndOfChannel:
                await self._wait_disconnected()
                return _DISCONNECT
        self._reading_inline = True
        try:
            message = await self._server_receive()
        finally:
            self._reading_inline = False
        self._note(message)
        return message

    async def _wait_disconnected(self) -> None:
        if not self._disconnected:
            if self._disconnect_event is None:
                self._disconnect_event = trio.Event()
            await self._disconnect_event.wait()

    def _declared_bytes_are_in(self) -> bool:
        """Whether the server has delivered all the bytes Content-Length declared."""
        if len(self._declared_lengths) != 1:
            return False
        value = self._declared_lengths[0]
        return value.isdigit() and int(value) == self._received_bytes

    def _check_declared_length(self, limit: int) -> None:
        for value in self._declared_lengths:
            try:
                declared = int(value)
            except ValueError:
                raise self._refuse(400, "Invalid Content-Length header") from None
            if declared > limit:
                raise self._refuse(413, "Request body is too large")

    def _refuse(self, status_code: int, detail: str) -> HTTPException:
        """The error for a body the request will not get; an HTTP/1 connection then closes.

        The rest of such a body is not worth reading: the response says
        ``Connection: close`` and the server drops the connection after it,
        instead of the next request on it reading the leftover body.
        """
        self._context.close_connection = self._is_http1
        return HTTPException(status_code, detail)

    def discard_rest(self, nursery: trio.Nursery | None) -> None:
        """The response is about to end: from now on, read and drop the body the app left.

        Hypercorn puts ``http.disconnect`` in the app's queue when the response
        ends, from inside the last send. If the app answered early (a refused
        form) while the client kept sending, that queue is full of body nobody
        reads and the send would wait forever. So the reading task discards
        from now on, started in ``nursery`` if it is not running yet.
        """
        if self._app_done or self._body_complete or self._has_no_body:
            return
        self._app_done = True
        self._stash = None
        if self._from_pump is not None:
            self._empty_channel(self._from_pump)
        elif nursery is not None:
            # What is queued is dropped without a task: over HTTP/2 a request
            # without a body has its end-of-body message queued already.
            self.poll()
            if not self._body_complete:
                self.start(nursery)

    @staticmethod
    def _empty_channel(channel: trio.MemoryReceiveChannel[Message]) -> None:
        """Unblock the reading task if it waits on a full channel the app no longer reads."""
        while True:
            try:
                channel.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel):
                break

    def stop_feeding_app(self) -> bool:
        """The app is done: stop passing it messages. Whether body is left to :meth:`drain`."""
        self._app_done = True
        return not (self._body_complete or self._has_no_body or self._context.close_connection)

    async def drain(self) -> None:
        """Stop feeding the app and discard the rest of the body, bounded in time.

        A checkpoint only when there is body left to read (see :meth:`stop_feeding_app`).
        """
        if not self.stop_feeding_app():
            return
        with trio.move_on_after(DRAIN_GRACE):
            if self._from_pump is None:
                while not self._body_complete:
                    self._note(await self._server_receive())
                return
            self._empty_channel(self._from_pump)
            if not self._body_complete:
                self._body_event = trio.Event()
                await self._body_event.wait()


def _nowait_twin(receive: Receive) -> Callable[[], Message] | None:
    """``receive_nowait`` of the memory channel whose ``receive`` this is, else ``None``."""
    channel = getattr(receive, "__self__", None)
    if (
        isinstance(channel, trio.MemoryReceiveChannel)
        and getattr(receive, "__func__", None) is trio.MemoryReceiveChannel.receive
    ):
        nowait: Callable[[], Message] = channel.receive_nowait
        return nowait
    return None
