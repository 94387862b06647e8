"""Serving one ASGI call inside its request scope: ``serve_request``.

::

    serve_request(app, scope, receive, send)
    └─ middleware scope   nursery: the receive pump; cleanups (uploads) run last
       └─ request scope   cancel scope: deadline, client disconnect
          └─ request nursery   the app call; tasks that belong to the request

It puts a ``ResponseTracker`` between the app and ``send``, a ``ReceivePump``
between the app and ``receive``, and answers 504 when the deadline passes
before a response has started. The request's state and its nurseries are
in :mod:`trioapi._scopes`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import partial

import trio

from trioapi._exception_groups import collapse_own_groups, is_cancellation
from trioapi._receive import ReceivePump
from trioapi._request_state import CancelReason, ResponsePhase
from trioapi._response_tracker import ResponseTracker, send_gateway_timeout
from trioapi._scopes import (
    CONTEXT_KEY,
    RequestContext,
    log_request_error,
    open_scope_nursery,
)
from trioapi._settings import Limits
from trioapi._watchdog import RequestWatchdog, watch_one_request
from trioapi.types import ASGIApp, Receive, Scope, Send

__all__ = ["serve_request"]

logger = logging.getLogger("trioapi")


TimeoutResponder = Callable[[Scope, Receive, Send], Awaitable[None]]


async def serve_request(
    app: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    *,
    limits: Limits,
    app_nursery: trio.Nursery | None = None,
    watchdog: RequestWatchdog | None = None,
    on_timeout: TimeoutResponder = send_gateway_timeout,
) -> None:
    """Run one HTTP or WebSocket call of ``app`` inside its scopes.

    A checkpoint. Returns when the response is sent, background tasks have
    run and every cleanup is done; cancellation from outside still runs the
    cleanups (shielded, bounded by a grace period).

    Args:
        app: The ASGI app to call.
        scope: The call's ASGI scope.
        receive: The server's ``receive``.
        send: The server's ``send``.
        limits: The app's request settings.
        app_nursery: The lifespan's app-task nursery (``AppNursery``), if any.
        watchdog: The lifespan's request watchdog, if any: it starts the
            request's disconnect watch late and times its sends. Without
            one, the request watches for itself from the start.
        on_timeout: Answers a deadline that passed before the response started.
    """
    context = RequestContext(limits, app_nursery, scope)
    # A TrioAPI mounted in another serves the same scope dict: its context
    # covers its own call, and the outer one's is put back afterwards.
    outer_context = scope.get(CONTEXT_KEY)
    scope[CONTEXT_KEY] = context
    escaped: BaseException | None = None
    try:
        if scope["type"] == "http":
            await _serve_http(app, scope, receive, send, context, limits, watchdog, on_timeout)
        else:
            tracked_send = ResponseTracker(send, context)
            await _serve_websocket(app, scope, receive, tracked_send, context)
    except BaseException as error:
        # Whatever escapes the app (a background task, a teardown after the
        # response, several errors at once) is logged with its request before
        # the server sees it: the server's own log line does not name it.
        # BaseException so groups are seen too; it is re-raised without the
        # group levels trioapi's own nurseries added.
        escaped = collapse_own_groups(error)
        if not is_cancellation(escaped):
            log_request_error(scope, "Unhandled error", escaped)
        if escaped is error:
            raise
    finally:
        if context.has_cleanups:
            await context.run_cleanups()
        # The context and the scope refer to each other; break the cycle so a
        # finished request is freed at once rather than by the cycle collector.
        context.request_cancel_scope = None
        if context._request_id is not None:
            # The server's access log line names the request as trioapi's lines did.
            scope["trioapi.request_id"] = context._request_id
        if context.cancel_reason is not None:
            # ... and says why trioapi cancelled it (trioapi._cli.logs).
            scope["trioapi.cancelled"] = context.cancel_reason.value
        if outer_context is None:
            del scope[CONTEXT_KEY]
        else:
            scope[CONTEXT_KEY] = outer_context
    if escaped is not None:
        # Raised outside the except block, so the group taken off does not
        # become the error's __context__.
        raise escaped


async def _serve_http(
    app: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    context: RequestContext,
    limits: Limits,
    watchdog: RequestWatchdog | None,
    on_timeout: TimeoutResponder,
) -> None:
    pump = ReceivePump(
        receive,
        context,
        headers=scope.get("headers", []),
        http_version=scope.get("http_version", "1.1"),
    )
    if watchdog is None:
        # No lifespan, so no watchdog: a task of the request's own, in the
        # middleware nursery, does its work (starts the pump once the request
        # has run for a while, answers a stuck deadline).
        tracked_send = ResponseTracker(
            send, context, before_last_send=partial(pump.discard_rest, None)
        )
        tracked_send.on_timeout = on_timeout
        tracked_send.receive = pump.receive
        async with open_scope_nursery(collapse=False) as middleware_nursery:
            # Shielded like the pump's task: the request's end cancels it.
            guard = trio.CancelScope(shield=True)
            middleware_nursery.start_soon(
                watch_one_request, pump, middleware_nursery, tracked_send, guard
            )
            try:
                await _run_request_scope(app, scope, pump, tracked_send, context, limits)
                if tracked_send.is_taken_over:
                    await tracked_send.wait_answered()
            finally:
                guard.cancel()
                pump.stop()
        return
    tracked_send = ResponseTracker(
        send, context, watchdog, before_last_send=partial(pump.discard_rest, watchdog.nursery)
    )
    tracked_send.on_timeout = on_timeout
    tracked_send.receive = pump.receive
    watchdog.watch(pump, context.started_at, tracked_send)
    try:
        await _run_request_scope(app, scope, pump, tracked_send, context, limits)
    finally:
        # The request must not return to the server while its deadline's
        # answer, sent for it by the watchdog, is half sent.
        if tracked_send.is_taken_over:
            await tracked_send.wait_answered()
        watchdog.forget(pump, tracked_send)
        pump.stop()


async def _run_request_scope(
    app: ASGIApp,
    scope: Scope,
    pump: ReceivePump,
    send: ResponseTracker,
    context: RequestContext,
    limits: Limits,
) -> None:
    # A deadline or a disconnect cancels this scope. The request nursery is
    # opened inside it by the routes that inject one (open_request_nursery):
    # a nursery on every request's path costs more than a small request does.
    with trio.CancelScope() as request_scope:
        context.request_cancel_scope = request_scope
        if limits.timeout is not None:
            context.set_timeout(limits.timeout)
        await app(scope, pump.receive, send)
    if request_scope.cancelled_caught:
        reason = context.cancel_reason
        if reason is None:  # nobody cancelled it: its deadline passed
            reason = context.cancel_reason = CancelReason.DEADLINE
        if reason is CancelReason.DISCONNECT or context.client_disconnected:
            # Not an error: the client went away and its handler was stopped.
            logger.info("Client went away; %s was cancelled", context.describe())
        elif (
            reason is CancelReason.DEADLINE
            and context.phase is ResponsePhase.NOT_STARTED
            and not send.is_taken_over
        ):
            # Shielded: the request scope is cancelled; the answer bounds itself.
            with trio.CancelScope(shield=True):
                await send.answer_own_deadline()
    if pump.stop_feeding_app():
        await pump.drain()


async def _serve_websocket(
    app: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    context: RequestContext,
) -> None:
    # A WebSocket app reads its own messages and sees websocket.disconnect
    # itself, so there is no pump; the deadline does not apply to a socket.
    with trio.CancelScope() as request_scope:
        context.request_cancel_scope = request_scope
        await app(scope, receive, send)
