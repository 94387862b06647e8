"""``ResponseStartWatch``: whether a response has started through one middleware's ``send``.

The exception middlewares must know whether the response already began
before answering an error themselves. Under TrioAPI, when their ``send`` is
the request's own tracker (nothing sits between them and the server side of
``serve_request``), the request context already records it, so no wrapper
(a call per message) is put in the way; otherwise ``send`` is wrapped.
"""

from __future__ import annotations

from trioapi._request_state import ResponsePhase
from trioapi._response_tracker import ResponseTracker
from trioapi._scopes import CONTEXT_KEY, RequestContext
from trioapi.types import Message, Scope, Send

__all__ = ["ResponseStartWatch", "has_started", "tracked_context"]


def tracked_context(scope: Scope, send: Send) -> RequestContext | None:
    """The request's context when ``send`` is its own tracker and nothing has started yet.

    Then the context's phase says whether a response start went through
    ``send`` (:func:`has_started`), and no :class:`ResponseStartWatch` is
    needed: the fast path of every HTTP request under TrioAPI.
    """
    if isinstance(send, ResponseTracker):
        context = send.context
        in_scope: object = scope.get(CONTEXT_KEY)
        if context.phase is ResponsePhase.NOT_STARTED and in_scope is context:
            return context
    return None


def has_started(context: RequestContext | None, watch: ResponseStartWatch | None) -> bool:
    """Whether a response start went through ``send``: the context's word, else the watch's."""
    if context is not None:
        return context.phase is not ResponsePhase.NOT_STARTED
    return watch is not None and watch.started


class ResponseStartWatch:
    """The ``send`` to give the app, and whether a response start went through it.

    Args:
        scope: The call's ASGI scope.
        send: The ``send`` the middleware was given.
    """

    __slots__ = ("_context", "_outer_send", "_started", "send")

    def __init__(self, scope: Scope, send: Send) -> None:
        context = tracked_context(scope, send) if scope["type"] == "http" else None
        self._outer_send = send
        self._started = False
        if context is not None:
            self._context: RequestContext | None = context
            self.send: Send = send
        else:
            self._context = None
            self.send = self._send_tracking_start

    @property
    def started(self) -> bool:
        """Whether ``http.response.start`` has gone through :attr:`send`."""
        if self._context is not None:
            return self._context.phase is not ResponsePhase.NOT_STARTED
        return self._started

    async def _send_tracking_start(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self._started = True
        await self._outer_send(message)
