"""Drive a TrioAPI app with one scripted HTTP request, for tests on the mock clock."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import trio


class Exchange:
    """What one scripted request saw: the sent messages, status, body and when it ended."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        # When each message of ``sent`` was sent (trio.current_time()).
        self.sent_at: list[float] = []
        self.finished_at: float | None = None

    @property
    def answered_at(self) -> float | None:
        """When the last body message was sent, if it was."""
        for message, at in zip(self.sent, self.sent_at, strict=True):
            if message["type"] == "http.response.body" and not message.get("more_body"):
                return at
        return None

    @property
    def status(self) -> int | None:
        starts = [m for m in self.sent if m["type"] == "http.response.start"]
        return starts[0]["status"] if starts else None

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body")

    def json(self) -> Any:
        return json.loads(self.body)


def http_scope(target: str, method: str = "GET", headers: list | None = None) -> dict[str, Any]:
    path, _, query = target.partition("?")
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query.encode(),
        "headers": [(b"host", b"testserver"), *(headers or [])],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }


async def call(
    app: Any,
    path: str,
    *,
    method: str = "GET",
    disconnect_after: float | None = None,
    headers: list | None = None,
    on_answer: Callable[[], object] | None = None,
) -> Exchange:
    """Send one request with an empty body; the client goes away after ``disconnect_after``.

    ``on_answer()`` is called when the last body message arrives.
    """
    exchange = Exchange()
    messages = [{"type": "http.request", "body": b"", "more_body": False}]
    # From the start of the request, not from the app's first read of the server.
    leaves_at = None if disconnect_after is None else trio.current_time() + disconnect_after

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        if leaves_at is None:
            await trio.sleep_forever()
        await trio.sleep_until(leaves_at)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        exchange.sent.append(message)
        exchange.sent_at.append(trio.current_time())
        if on_answer is not None and exchange.answered_at is not None:
            on_answer()

    await app(http_scope(path, method, headers), receive, send)
    exchange.finished_at = trio.current_time()
    return exchange
