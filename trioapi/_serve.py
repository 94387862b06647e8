"""Serving one ASGI call inside its request scope: ``serve_http`` and ``serve_request``.

::

    serve_http(app, scope, receive, send, ...)     an HTTP request, the watchdog present
    └─ request scope   cancel scope: deadline, client disconnect
       └─ the app call (a request nursery, when a route injects one)

It puts a ``ResponseTracker`` between the app and ``send``, a ``ReceivePump``
between the app and ``receive``, and answers 504 when the deadline passes
before a response has started. ``serve_http`` is every served HTTP request's
path, in one coroutine: each level between the server and the app costs a
small request a few percent. ``serve_request`` serves any call (a WebSocket,
a request without the lifespan's watchdog, which then has a task of its own
in a middleware nursery). The request's state and its nurseries are in
:mod:`trioapi._scopes`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from trioapi._shutdown import ServerShutdown

__all__ = ["serve_http", "serve_request"]

logger = logging.getLogger("trioapi")


TimeoutResponder = Callable[[Scope, Receive, Send], Awaitable[None]]


async def serve_http(
    app: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    limits: Limits,
    watchdog: RequestWatchdog,
    app_nursery: trio.Nursery | None = None,
    on_timeout: TimeoutResponder = send_gateway_timeout,
    shutdown: ServerShutdown | None = None,
) -> None:
    """Run one HTTP request of ``app`` in its scopes, looked after by the app's ``watchdog``.

    What :func:`serve_request` does for an HTTP request when the lifespan's
    watchdog is there (every request a server sends), in one coroutine.

    Args:
        app: The ASGI app to call.
        scope: The request's ASGI scope.
        receive: The server's ``receive``.
        send: The server's ``send``.
        limits: The app's request settings.
        watchdog: The lifespan's request watchdog: it starts the request's
            disconnect watch late and times its sends.
        app_nursery: The lifespan's app-task nursery (``AppNursery``), if any.
        on_timeout: Answers a deadline that passed before the response started.
        shutdown: The app's graceful shutdown, for streaming responses.
    """
    context = RequestContext(limits, app_nursery, scope, shutdown)
    # A TrioAPI mounted in another serves the same scope dict: its context
    # covers its own call, and the outer one's is put back afterwards.
    outer_context = scope.get(CONTEXT_KEY)
    scope[CONTEXT_KEY] = context
    pump = ReceivePump(receive, context, scope)
    tracked_send = ResponseTracker(send, context, watchdog, pump, on_timeout)
    watchdog.watch(pump, context.started_at, tracked_send)
    escaped: BaseException | None = None
    try:
        try:
            # A deadline or a disconnect cancels this scope. The request
            # nursery is opened inside it by the routes that inject one
            # (open_request_nursery): a nursery on every request's path costs
            # more than a small request does.
            with trio.CancelScope() as request_scope:
                context.request_cancel_scope = request_scope
                if limits.timeout is not None:
                    context.set_timeout(limits.timeout)
                await app(scope, pump.receive, tracked_send)
            if request_scope.cancelled_caught:
                await _after_cancellation(context, tracked_send)
            if pump.stop_feeding_app():
                await pump.drain()
        finally:
            # The request must not return to the server while its deadline's
            # answer, sent for it by the watchdog, is half sent.
            if tracked_send.is_taken_over:
                await tracked_send.wait_answered()
            watchdog.forget(pump, tracked_send)
            pump.stop()
    except BaseException as error:
        escaped = _log_escaped(scope, error)
        if escaped is error:
            raise
    finally:
        if context._cleanups:
            await context.run_cleanups()
        _end_context(context, scope, outer_context)
    if escaped is not None:
        # Raised outside the except block, so the group taken off does not
        # become the error's __context__.
        raise escaped


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
    shutdown: ServerShutdown | None = None,
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
        shutdown: The app's graceful shutdown, for streaming responses.
    """
    if watchdog is not None and scope["type"] == "http":
        await serve_http(
            app, scope, receive, send, limits, watchdog, app_nursery, on_timeout, shutdown
        )
        return
    context = RequestContext(limits, app_nursery, scope, shutdown)
    outer_context = scope.get(CONTEXT_KEY)  # see serve_http
    scope[CONTEXT_KEY] = context
    escaped: BaseException | None = None
    try:
        if scope["type"] == "http":
            await _serve_http_alone(app, scope, receive, send, context, limits, on_timeout)
        else:
            tracked_send = ResponseTracker(send, context)
            await _serve_websocket(app, scope, receive, tracked_send, context)
    except BaseException as error:
        escaped = _log_escaped(scope, error)
        if escaped is error:
            raise
    finally:
        if context._cleanups:
            await context.run_cleanups()
        _end_context(context, scope, outer_context)
    if escaped is not None:
        raise escaped  # see serve_http


def _log_escaped(scope: Scope, error: BaseException) -> BaseException:
    """Log what escaped the app with its request; the error to raise, own groups taken off.

    Whatever escapes the app (a background task, a teardown after the
    response, several errors at once) is logged with its request before the
    server sees it: the server's own log line does not name it. Groups are
    seen too; the error is re-raised without the group levels trioapi's own
    nurseries added.
    """
    escaped = collapse_own_groups(error)
    if not is_cancellation(escaped):
        log_request_error(scope, "Unhandled error", escaped)
    return escaped


def _end_context(context: RequestContext, scope: Scope, outer_context: object) -> None:
    """The request is over: what the server's log needs goes in the scope, the context out."""
    # A late cancel() (the watchdog, a task holding the context) is a no-op now.
    context.request_cancel_scope = None
    if context._request_id is not None:
        # The server's access log line names the request as trioapi's lines did.
        scope["trioapi.request_id"] = context._request_id
    if context.cancel_reason is not None:
        # ... and says why trioapi cancelled it (trioapi._cli.logs).
        scope["trioapi.cancelled"] = context.cancel_reason.value
    # The context and the scope refer to each other: the scope lets it go, so
    # a finished request is freed at once rather than by the cycle collector.
    if outer_context is None:
        del scope[CONTEXT_KEY]
    else:
        scope[CONTEXT_KEY] = outer_context


async def _serve_http_alone(
    app: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    context: RequestContext,
    limits: Limits,
    on_timeout: TimeoutResponder,
) -> None:
    # No lifespan, so no watchdog: a task of the request's own, in the
    # middleware nursery, does its work (starts the pump once the request
    # has run for a while, answers a stuck deadline).
    pump = ReceivePump(receive, context, scope)
    tracked_send = ResponseTracker(send, context, None, pump, on_timeout)
    async with open_scope_nursery(collapse=False) as middleware_nursery:
        # Shielded like the pump's task: the request's end cancels it.
        guard = trio.CancelScope(shield=True)
        middleware_nursery.start_soon(
            watch_one_request, pump, middleware_nursery, tracked_send, guard
        )
        try:
            with trio.CancelScope() as request_scope:  # see serve_http
                context.request_cancel_scope = request_scope
                if limits.timeout is not None:
                    context.set_timeout(limits.timeout)
                await app(scope, pump.receive, tracked_send)
            if request_scope.cancelled_caught:
                await _after_cancellation(context, tracked_send)
            if pump.stop_feeding_app():
                await pump.drain()
            if tracked_send.is_taken_over:
                await tracked_send.wait_answered()
        finally:
            guard.cancel()
            pump.stop()


async def _after_cancellation(context: RequestContext, send: ResponseTracker) -> None:
    """The request scope caught a cancellation: log a disconnect, answer a deadline (504)."""
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
