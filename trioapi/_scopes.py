"""The structured-concurrency core: one request as nested Trio scopes.

::

    serve_request(app, scope, receive, send)
    └─ middleware scope   nursery: the receive pump; cleanups (uploads) run last
       └─ request scope   cancel scope: deadline, client disconnect
          └─ request nursery   the app call; tasks that belong to the request

This module is the only place on the request path that opens nurseries and
cancel scopes, and it knows nothing of pydantic or routing.
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import trio

from trioapi.exceptions import HTTPException
from trioapi.types import ASGIApp, Message, Receive, Scope, Send

CONTEXT_KEY = "trioapi.context"
DEFAULT_MAX_BODY_SIZE = 16 * 1024 * 1024
DEFAULT_BODY_TIMEOUT = 60.0
CLEANUP_GRACE = 5.0
DRAIN_GRACE = 5.0

logger = logging.getLogger("trioapi")

Cleanup = Callable[[], Awaitable[Any]]


class RequestLimits:
    """App-wide settings for the request scope, fixed when the app is built."""

    __slots__ = ("body_timeout", "cancel_on_disconnect", "max_body_size", "timeout")

    def __init__(
        self,
        *,
        max_body_size: int | None = DEFAULT_MAX_BODY_SIZE,
        body_timeout: float | None = DEFAULT_BODY_TIMEOUT,
        timeout: float | None = None,
        cancel_on_disconnect: bool = True,
    ) -> None:
        self.max_body_size = max_body_size
        self.body_timeout = body_timeout
        self.timeout = timeout
        self.cancel_on_disconnect = cancel_on_disconnect


class RequestContext:
    """Everything trioapi tracks for one HTTP or WebSocket call.

    Stored in the ASGI scope under ``"trioapi.context"``; see
    :func:`get_request_context`.
    """

    __slots__ = (
        "_cleanups",
        "app_nursery",
        "cancel_on_disconnect",
        "client_disconnected",
        "deadline_expired",
        "max_body_size",
        "request_cancel_scope",
        "request_nursery",
        "response_complete",
        "response_started",
        "started_at",
    )

    def __init__(self, limits: RequestLimits, app_nursery: trio.Nursery | None) -> None:
        self.client_disconnected = False
        self.response_started = False
        self.response_complete = False
        self.deadline_expired = False
        self.max_body_size = limits.max_body_size
        self.cancel_on_disconnect = limits.cancel_on_disconnect
        self.app_nursery = app_nursery
        self.request_nursery: trio.Nursery | None = None
        self.request_cancel_scope: trio.CancelScope | None = None
        self.started_at = trio.current_time()
        self._cleanups: list[Cleanup] = []

    def add_cleanup(self, cleanup: Cleanup) -> None:
        """Await ``cleanup()`` when the request ends, after everything else, even if cancelled."""
        self._cleanups.append(cleanup)

    def set_timeout(self, seconds: float | None) -> None:
        """Give the request a deadline ``seconds`` after it started (``None`` lifts it)."""
        if self.request_cancel_scope is not None and not self.response_complete:
            deadline = math.inf if seconds is None else self.started_at + seconds
            self.request_cancel_scope.deadline = deadline

    def remaining_time(self) -> float:
        """Seconds left before the request's deadline (``inf`` when it has none)."""
        if self.request_cancel_scope is None:
            return math.inf
        return self.request_cancel_scope.deadline - trio.current_time()

    async def run_cleanups(self) -> None:
        """Run the registered cleanups last-in, first-out, shielded and bounded."""
        # Shielded: cleanups (closing upload temp files) must run even when
        # the request was cancelled; bounded so a stuck one cannot pin a worker.
        with trio.move_on_after(CLEANUP_GRACE, shield=True):
            while self._cleanups:
                cleanup = self._cleanups.pop()
                try:
                    await cleanup()
                except Exception:
                    logger.exception("Cleanup %r failed", cleanup)


def get_request_context(scope: Scope) -> RequestContext | None:
    """Return the context trioapi attached to this call, or ``None`` outside TrioAPI."""
    context: RequestContext | None = scope.get(CONTEXT_KEY)
    return context


def single_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException | None:
    """The one exception inside ``group`` (looking through nested groups), or None if several."""
    leaves = list(_iter_leaves(group))
    return leaves[0] if len(leaves) == 1 else None


def _iter_leaves(group: BaseExceptionGroup[BaseException]) -> Iterator[BaseException]:
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            yield from _iter_leaves(exc)
        else:
            yield exc


@asynccontextmanager
async def open_scope_nursery() -> AsyncIterator[trio.Nursery]:
    """A nursery whose single error comes out as itself, not as an exception group.

    Handlers registered for ``ValueError`` must see the ``ValueError``; only
    several real errors at once leave as a group.
    """
    leaf: BaseException | None = None
    try:
        async with trio.open_nursery() as nursery:
            yield nursery
    except BaseExceptionGroup as group:
        leaf = single_leaf(group)
        if leaf is None:
            raise
    if leaf is not None:
        # Raised outside the except block so the group does not become the
        # leaf's __context__ and its own chain stays as the user made it.
        raise leaf


class ReceivePump:
    """The only caller of the server's ``receive()`` for one HTTP request.

    It forwards body messages to the app with back-pressure, enforces the body
    size limit and read deadline, keeps draining the body after the app is
    done (an undrained HTTP/2 stream stalls its whole connection), and turns
    ``http.disconnect`` into cancellation of the request scope.
    """

    def __init__(
        self,
        receive: Receive,
        context: RequestContext,
        *,
        headers: list[tuple[bytes, bytes]],
        body_timeout: float | None,
    ) -> None:
        self._receive = receive
        self._headers = headers
        self._context = context
        self._body_timeout = body_timeout
        self._to_app, self._from_pump = trio.open_memory_channel[Message](4)
        self._body_complete = trio.Event()
        self._disconnected = trio.Event()
        self._received_bytes = 0
        self._app_done = False
        self._read_deadline = math.inf

    async def run(self) -> None:
        """Read from the server until the client disconnects (cancel to stop)."""
        async with self._to_app:
            while True:
                message = await self._receive()
                if message["type"] == "http.disconnect":
                    self._on_disconnect()
                    return
                if message["type"] != "http.request":
                    continue
                self._received_bytes += len(message.get("body", b""))
                if not message.get("more_body", False):
                    self._body_complete.set()
                if not self._app_done:
                    await self._to_app.send(message)

    def _on_disconnect(self) -> None:
        context = self._context
        context.client_disconnected = True
        self._body_complete.set()
        self._disconnected.set()
        if (
            context.cancel_on_disconnect
            and not context.response_complete
            and context.request_cancel_scope is not None
        ):
            context.request_cancel_scope.cancel()

    async def receive(self) -> Message:
        """The ``receive`` the app sees: body messages, then ``http.disconnect``.

        Raises:
            HTTPException: 413 when the body exceeds the size limit, 408 when
                the client is too slow to send it.
        """
        limit = self._context.max_body_size
        if self._read_deadline == math.inf and self._body_timeout is not None:
            self._read_deadline = trio.current_time() + self._body_timeout
        if limit is not None and self._received_bytes == 0:
            self._check_declared_length(limit)
        try:
            with trio.fail_at(self._read_deadline if not self._body_complete.is_set() else math.inf):
                message = await self._from_pump.receive()
        except trio.EndOfChannel:
            await self._disconnected.wait()
            return {"type": "http.disconnect"}
        except trio.TooSlowError:
            raise HTTPException(408, "Request body was not received in time") from None
        if limit is not None and self._received_bytes > limit:
            raise HTTPException(413, "Request body is too large")
        return message

    def _check_declared_length(self, limit: int) -> None:
        for name, value in self._headers:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    raise HTTPException(400, "Invalid Content-Length header") from None
                if declared > limit:
                    raise HTTPException(413, "Request body is too large")

    async def drain(self) -> None:
        """Stop feeding the app and discard the rest of the body, bounded in time."""
        self._app_done = True
        # Unblock a pump stuck on a full channel the app no longer reads.
        while True:
            try:
                self._from_pump.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel):
                break
        with trio.move_on_after(DRAIN_GRACE):
            await self._body_complete.wait()


class _ResponseTracker:
    """Wraps ``send`` to record the response's progress on the context."""

    __slots__ = ("_context", "_send")

    def __init__(self, send: Send, context: RequestContext) -> None:
        self._send = send
        self._context = context

    async def __call__(self, message: Message) -> None:
        kind = message["type"]
        context = self._context
        if kind == "http.response.start":
            context.response_started = True
        elif kind == "http.response.body" and not message.get("more_body", False):
            self._finish()
        elif kind == "websocket.accept" or kind == "websocket.http.response.start":
            context.response_started = True
        await self._send(message)

    def _finish(self) -> None:
        context = self._context
        context.response_complete = True
        # Background work after the response is not bound by the request deadline.
        if context.request_cancel_scope is not None:
            context.request_cancel_scope.deadline = math.inf


TimeoutResponder = Callable[[Scope, Receive, Send], Awaitable[None]]


async def _send_gateway_timeout(scope: Scope, receive: Receive, send: Send) -> None:
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


async def serve_request(
    app: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    *,
    limits: RequestLimits,
    app_nursery: trio.Nursery | None = None,
    on_timeout: TimeoutResponder = _send_gateway_timeout,
) -> None:
    """Run one HTTP or WebSocket call of ``app`` inside its scopes.

    A checkpoint. Returns when the response is sent, background tasks have
    run and every cleanup is done; cancellation from outside still runs the
    cleanups (shielded, bounded by a grace period).
    """
    context = RequestContext(limits, app_nursery)
    scope[CONTEXT_KEY] = context
    tracked_send = _ResponseTracker(send, context)
    try:
        if scope["type"] == "http":
            await _serve_http(app, scope, receive, tracked_send, context, limits, on_timeout)
        else:
            await _serve_websocket(app, scope, receive, tracked_send, context, limits)
    finally:
        await context.run_cleanups()


async def _serve_http(
    app: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    context: RequestContext,
    limits: RequestLimits,
    on_timeout: TimeoutResponder,
) -> None:
    pump = ReceivePump(
        receive, context, headers=scope.get("headers", []), body_timeout=limits.body_timeout
    )
    async with open_scope_nursery() as middleware_nursery:
        middleware_nursery.start_soon(pump.run)
        with trio.CancelScope() as request_scope:
            context.request_cancel_scope = request_scope
            context.set_timeout(limits.timeout)
            async with open_scope_nursery() as request_nursery:
                context.request_nursery = request_nursery
                await app(scope, pump.receive, send)
        if request_scope.cancelled_caught and not context.client_disconnected:
            context.deadline_expired = True
            if not context.response_started:
                with trio.move_on_after(CLEANUP_GRACE, shield=True):
                    await on_timeout(scope, pump.receive, send)
        await pump.drain()
        middleware_nursery.cancel_scope.cancel()


async def _serve_websocket(
    app: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    context: RequestContext,
    limits: RequestLimits,
) -> None:
    # A WebSocket app reads its own messages and sees websocket.disconnect
    # itself, so there is no pump; the deadline does not apply to a socket.
    with trio.CancelScope() as request_scope:
        context.request_cancel_scope = request_scope
        async with open_scope_nursery() as request_nursery:
            context.request_nursery = request_nursery
            await app(scope, receive, send)
