"""The ``text/event-stream`` format and ``EventSourceResponse``, which streams it.

Toolkit-level: no pydantic. :mod:`trioapi.sse` (``ServerSentEvent``, the typed
items) and :mod:`trioapi.responses` re-export what is public here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from contextlib import aclosing

import trio

from trioapi._scopes import open_scope_nursery
from trioapi._streamingresponse import ContentStream, StreamingResponse
from trioapi.background import BackgroundTask
from trioapi.types import Message, Send

__all__ = [
    "KEEPALIVE_COMMENT",
    "LINE_BREAK",
    "PING_INTERVAL",
    "EventSourceResponse",
    "format_sse_event",
]

PING_INTERVAL = 15.0
"""Seconds without any event after which a ``: ping`` comment is sent."""

KEEPALIVE_COMMENT = b": ping\n\n"
"""The comment sent on an idle stream; ``EventSource`` clients ignore it."""

# The SSE grammar ends a line with CRLF, LF or CR, and nothing else (unlike
# str.splitlines, which also splits on \v, \f, \x1c, U+2028 ...).
LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _field_lines(name: str, text: str) -> list[str]:
    # One "name: line" per line of the text: a client joins the data lines
    # of one event back together with "\n".
    return [f"{name}: {line}" for line in LINE_BREAK.split(text)]


def format_sse_event(
    *,
    data: str | None = None,
    event: str | None = None,
    id: str | None = None,  # the SSE field's own name
    retry: int | None = None,
    comment: str | None = None,
) -> bytes:
    """One event in the ``text/event-stream`` format, ending with its blank line.

    Args:
        data: The payload, already encoded as text; several lines become
            several ``data:`` lines.
        event: The event type (``message`` when omitted).
        id: The event id the client echoes back in ``Last-Event-ID``.
        retry: The reconnection delay the client should use, in milliseconds.
        comment: A comment, one ``:`` line per line; clients ignore it.

    Returns:
        The UTF-8 bytes of the event.
    """
    lines: list[str] = []
    if comment is not None:
        lines.extend(f": {line}" for line in LINE_BREAK.split(comment))
    if event is not None:
        lines.append(f"event: {event}")
    if data is not None:
        lines.extend(_field_lines("data", data))
    if id is not None:
        lines.append(f"id: {id}")
    if retry is not None:
        lines.append(f"retry: {retry}")
    return ("\n".join(lines) + "\n\n").encode("utf-8")


class _KeepAlive:
    """Sends body chunks one at a time, and a ping when none was sent for a while."""

    __slots__ = ("interval", "last_sent", "lock", "send")

    def __init__(self, send: Send, interval: float) -> None:
        self.send = send
        self.interval = interval
        # The ping and the stream share one `send`: the lock keeps a ping
        # from being written in the middle of a blocked (back-pressured) send.
        self.lock = trio.Lock()
        self.last_sent = trio.current_time()

    async def send_chunk(self, body: bytes) -> None:
        async with self.lock:
            await self._send_locked(body)

    async def _send_locked(self, body: bytes) -> None:
        message: Message = {"type": "http.response.body", "body": body, "more_body": True}
        await self.send(message)
        self.last_sent = trio.current_time()

    async def ping_while_idle(self) -> None:
        while True:
            await trio.sleep_until(self.last_sent + self.interval)
            async with self.lock:
                # Checked again under the lock: a send that was blocked (a
                # slow client) may have just gone through; then it is not idle.
                if trio.current_time() >= self.last_sent + self.interval:
                    await self._send_locked(KEEPALIVE_COMMENT)


class EventSourceResponse(StreamingResponse):
    """A ``text/event-stream`` response: the ``response_class`` of SSE endpoints.

    As the route's ``response_class`` it marks a ``yield`` endpoint whose
    items are encoded as events. Built directly, its ``content`` is sent as
    it is (already formatted events). Either way it sends
    ``Cache-Control: no-cache`` and ``X-Accel-Buffering: no`` (unless
    ``headers`` sets them) so caches and proxies pass events through at once,
    and a ``: ping`` comment after :data:`PING_INTERVAL` idle seconds. When
    a TrioAPI server begins a graceful shutdown, the stream ends at its next
    wait for an event, as a ``StreamingResponse`` does.

    Args:
        content: An async or sync iterable of ``str`` or ``bytes`` chunks.
        status_code: The HTTP status.
        headers: Extra headers.
        media_type: The Content-Type (default ``text/event-stream``).
        background: Awaited after the stream has ended.
    """

    media_type = "text/event-stream"

    def __init__(
        self,
        content: ContentStream,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
    ) -> None:
        given = {name.lower(): value for name, value in (headers or {}).items()}
        all_headers = {"cache-control": "no-cache", "x-accel-buffering": "no", **given}
        super().__init__(content, status_code, all_headers, media_type, background)

    async def _send_stream(self, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        # Read at call time, so the interval is this module's current setting.
        keep_alive = _KeepAlive(send, PING_INTERVAL)
        async with open_scope_nursery() as nursery:
            nursery.start_soon(keep_alive.ping_while_idle)
            # The parent's _iter_body: encoded chunks, ending at the next wait
            # for an event once the server begins a graceful shutdown (the
            # event source's finally runs), as a StreamingResponse does.
            async with aclosing(self._iter_body()) as chunks:
                async for body in chunks:
                    await keep_alive.send_chunk(body)
            # Under the lock the pinger is asleep or waiting for the lock, so
            # the cancellation cannot cut a ping in the middle of its send.
            async with keep_alive.lock:
                nursery.cancel_scope.cancel()
        await send({"type": "http.response.body", "body": b"", "more_body": False})
