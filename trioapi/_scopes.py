"""The structured-concurrency core: a request's state, and the nurseries inside its scopes.

``RequestContext`` is everything trioapi tracks for one call (in the ASGI
scope under ``CONTEXT_KEY``); ``open_scope_nursery``, ``run_alongside`` and
``open_request_nursery`` open the nurseries a request's work runs in.
``serve_request`` (:mod:`trioapi._serve`) runs the call in its scopes. These
two modules are the only places on the request path that open nurseries and
cancel scopes, and they know nothing of pydantic or routing.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

import trio

from trioapi._exception_groups import is_cancellation, iter_leaves, single_leaf
from trioapi._exception_groups import open_scope_nursery as open_scope_nursery
from trioapi._request_state import CancelReason, ResponsePhase
from trioapi._runtime import error_hint
from trioapi._settings import DEFAULT_LIMITS, Limits
from trioapi._settings import RequestLimits as RequestLimits  # the app-wide value
from trioapi.types import Scope

if TYPE_CHECKING:
    from trioapi._shutdown import ServerShutdown

CONTEXT_KEY = "trioapi.context"
CLEANUP_GRACE = 5.0

logger = logging.getLogger("trioapi")

Cleanup = Callable[[], Awaitable[Any]]


class RequestContext:
    """Everything trioapi tracks for one HTTP or WebSocket call.

    Stored in the ASGI scope under ``"trioapi.context"``; see
    :func:`get_request_context`.

    Attributes:
        phase: How far the response has gone (:class:`ResponsePhase`).
        cancel_reason: Why trioapi cancelled the request scope, once it has
            (:meth:`cancel`); see :meth:`why_cancelled`.
        client_disconnected: The server reported the client gone.
        deadline: When the request scope's deadline passes, on Trio's clock
            (``inf``: none); set by :meth:`set_timeout`.
        shutdown: The serving app's graceful shutdown (``None`` outside an app):
            a streaming response stops at its next chunk once it begins.
    """

    __slots__ = (
        "_cleanups",
        "_request_id",
        "answered_for_app",
        "app_nursery",
        "cancel_reason",
        "client_disconnected",
        "close_connection",
        "deadline",
        "limits",
        "phase",
        "request_cancel_scope",
        "request_nursery",
        "scope",
        "shutdown",
        "started_at",
    )

    def __init__(
        self,
        limits: Limits,
        app_nursery: trio.Nursery | None,
        scope: Scope | None = None,
        shutdown: ServerShutdown | None = None,
    ) -> None:
        self.scope: Scope = scope if scope is not None else {}
        self.client_disconnected = False
        self.phase = ResponsePhase.NOT_STARTED
        self.cancel_reason: CancelReason | None = None
        # The deadline was answered on the app's behalf while its task waited
        # on a worker thread; the app's own response is dropped.
        self.answered_for_app = False
        # The settings the request runs under (trioapi._settings): the app's,
        # until its route replaces them (use_limits). Read where each acts: the
        # receive pump, Request.form(), each response send, the body reader.
        self.limits = limits
        # Set when the body was refused (413/408/400): the response closes an HTTP/1 connection.
        self.close_connection = False
        self.app_nursery = app_nursery
        self.request_nursery: trio.Nursery | None = None
        self.request_cancel_scope: trio.CancelScope | None = None
        # The request scope's deadline, kept here too: reading it from the
        # cancel scope is a property call on every response start.
        self.deadline = math.inf
        self.shutdown = shutdown
        self.started_at = trio.current_time()
        # Made by the first add_cleanup(): most requests have none.
        self._cleanups: list[Cleanup] | None = None
        self._request_id: str | None = None

    @property
    def request_id(self) -> str:
        """The request's id for log lines: its ``X-Request-ID`` header, else a random one.

        Worked out on first use, so a request that logs nothing pays nothing.
        """
        if self._request_id is None:
            for name, value in self.scope.get("headers", ()):
                if name == b"x-request-id":
                    self._request_id = value.decode("latin-1")[:200]
                    break
            else:
                self._request_id = os.urandom(8).hex()
        return self._request_id

    def describe(self) -> str:
        """``GET /items (request id 3f2a...)``: how log lines name this request."""
        scope = self.scope
        method = scope.get("method", scope.get("type", "?").upper())
        return f"{method} {scope.get('path', '?')} (request id {self.request_id})"

    def use_limits(self, limits: Limits) -> None:
        """Run the rest of the request under ``limits`` (its route's, merged onto the app's).

        A changed ``timeout`` moves the deadline (still counted from the
        request's start); switching ``cancel_on_disconnect`` on after the
        client has already gone cancels the request now. The other settings
        are read where they act, from here on.
        """
        previous = self.limits
        self.limits = limits
        if limits.timeout != previous.timeout:
            self.set_timeout(limits.timeout)
        if (
            limits.cancel_on_disconnect
            and not previous.cancel_on_disconnect
            and self.client_disconnected
            and self.phase < ResponsePhase.ENDING
        ):
            self.cancel(CancelReason.DISCONNECT)

    def cancel(self, reason: CancelReason) -> None:
        """Cancel the request scope for ``reason``.

        The first reason stands: a deadline that has already passed counts
        as the first, even if Trio has not delivered it yet.
        """
        scope = self.request_cancel_scope
        if scope is None:
            return
        if self.cancel_reason is None:
            if scope.cancel_called or scope.deadline <= trio.current_time():
                reason = CancelReason.DEADLINE
            self.cancel_reason = reason
        scope.cancel()

    def why_cancelled(self) -> CancelReason:
        """Why a cancellation reaching the request's code was sent.

        The reason :meth:`cancel` recorded; else the deadline, once it has
        passed; else the request was cancelled from outside (the server's
        hard cancel at shutdown).
        """
        if self.cancel_reason is not None:
            return self.cancel_reason
        scope = self.request_cancel_scope
        if scope is not None and scope.deadline <= trio.current_time():
            return CancelReason.DEADLINE
        return CancelReason.SHUTDOWN

    def add_cleanup(self, cleanup: Cleanup) -> None:
        """Await ``cleanup()`` when the request ends, after everything else, even if cancelled."""
        if self._cleanups is None:
            self._cleanups = []
        self._cleanups.append(cleanup)

    def set_timeout(self, seconds: float | None) -> None:
        """Give the request a deadline ``seconds`` after it started (``None`` lifts it)."""
        if self.request_cancel_scope is not None and self.phase < ResponsePhase.ENDING:
            deadline = math.inf if seconds is None else self.started_at + seconds
            self.request_cancel_scope.deadline = self.deadline = deadline

    def lift_deadline(self) -> None:
        """The response's last message is going: work after it is not bound by the deadline."""
        if self.request_cancel_scope is not None:
            self.request_cancel_scope.deadline = self.deadline = math.inf

    def remaining_time(self) -> float:
        """Seconds left before the request's deadline (``inf`` when it has none)."""
        if self.request_cancel_scope is None:
            return math.inf
        return self.request_cancel_scope.deadline - trio.current_time()

    async def run_cleanups(self) -> None:
        """Run the registered cleanups last-in, first-out, shielded and bounded."""
        # Shielded: cleanups (closing upload temp files) must run even when
        # the request was cancelled; bounded so a stuck one cannot pin a worker.
        cleanups = self._cleanups
        if not cleanups:
            return
        with trio.move_on_after(CLEANUP_GRACE, shield=True):
            while cleanups:
                cleanup = cleanups.pop()
                try:
                    await cleanup()
                except Exception:
                    logger.exception("Cleanup %r failed", cleanup)


def get_request_context(scope: Scope) -> RequestContext | None:
    """Return the context trioapi attached to this call, or ``None`` outside TrioAPI."""
    context: RequestContext | None = scope.get(CONTEXT_KEY)
    return context


def log_request_error(scope: Scope, what: str, error: BaseException) -> None:
    """Log ``error`` on the ``"trioapi"`` logger, naming the request it belongs to.

    The record carries ``method``, ``path`` and ``request_id`` as extra
    attributes too, for structured log handlers.
    """
    context = get_request_context(scope)
    if context is None:
        context = RequestContext(DEFAULT_LIMITS, None, scope)
    extra = {
        "method": scope.get("method", scope.get("type", "?").upper()),
        "path": scope.get("path", "?"),
        "request_id": context.request_id,
    }
    hint = error_hint(error)  # "" unless asyncio was called on Trio, or a FastAPI error raised
    logger.error("%s in %s%s", what, context.describe(), hint, exc_info=error, extra=extra)


Job = Callable[[], Awaitable[None]]


async def run_alongside(main: Job, others: Sequence[Job], *, scope: Scope) -> list[Exception]:
    """Run ``main`` in this task and each of ``others`` as a task beside it. A checkpoint.

    The first ``Exception`` cancels the rest; every ``Exception`` raised is
    returned (in the order raised) rather than raised as a group, so the
    caller decides which one the request fails with. Cancellation from
    outside propagates as a plain ``trio.Cancelled`` (a dependency's
    ``except trio.Cancelled`` must match it); errors recorded before it are
    logged with the request, never dropped.
    """
    errors: list[Exception] = []

    async def guard(job: Job, cancel_scope: trio.CancelScope) -> None:
        try:
            await job()
        except Exception as exc:
            errors.append(exc)
            cancel_scope.cancel()

    try:
        async with trio.open_nursery() as nursery:
            for job in others:
                nursery.start_soon(guard, job, nursery.cancel_scope)
            await guard(main, nursery.cancel_scope)
    except BaseExceptionGroup as group:
        for error in errors:
            log_request_error(
                scope, "Error in a concurrent dependency of a cancelled request", error
            )
        leaf = single_leaf(group)
        if leaf is None and is_cancellation(group):
            leaf = next(iter_leaves(group))
        if leaf is None:
            raise
        raise leaf from None
    return errors


class open_request_nursery:
    """Open the request's nursery for the block (what ``RequestNursery`` injects).

    Routes whose dependencies inject the nursery open it around their whole
    handling (dependencies, endpoint, response, background tasks), inside the
    request scope, so a disconnect or deadline cancels its tasks too. A call
    without a request context, or with the nursery already open, opens none.
    """

    __slots__ = ("_context", "_nursery")

    def __init__(self, scope: Scope) -> None:
        context = get_request_context(scope)
        self._context = context if context is not None and context.request_nursery is None else None
        self._nursery: open_scope_nursery | None = None

    async def __aenter__(self) -> None:
        if self._context is not None:
            # Its own level comes off on the way out: the route catches the
            # errors of its dependencies (a ValidationException) right here.
            self._nursery = open_scope_nursery()
            self._context.request_nursery = await self._nursery.__aenter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        if self._nursery is None:
            return False
        return await self._nursery.__aexit__(exc_type, exc, traceback)
