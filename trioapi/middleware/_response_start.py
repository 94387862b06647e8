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
from trioapi._scopes import RequestContext, get_request_context
from trioapi.types import Message, Scope, Send

__all__ = ["ResponseStartWatch"]


class ResponseStartWatch:
    """The ``send`` to give the app, and whether a response start went through it.

    Args:
        scope: The call's ASGI scope.
        send: The ``send`` the middleware was given.
    """

    __slots__ = ("_context", "_outer_send", "_started", "send")

    def __init__(self, scope: Scope, send: Send) -> None:
        context = get_request_context(scope) if scope["type"] == "http" else None
        self._outer_send = send
        self._started = False
        if (
            context is not None
            and context.phase is ResponsePhase.NOT_STARTED
            and isinstance(send, ResponseTracker)
            and send.context is context
        ):
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
