"""Calling ASGI apps by hand in the middleware tests: build a scope, record what is sent."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import trio

from trioapi.types import ASGIApp, Message, Scope


def make_scope(
    *,
    method: str = "GET",
    path: str = "/",
    headers: Sequence[tuple[str, str]] = (),
    scheme: str = "http",
    server: tuple[str, int] | None = ("testserver", 80),
    query_string: bytes = b"",
    scope_type: str = "http",
) -> Scope:
    """An ASGI scope as a server would build it."""
    scope: Scope = {
        "type": scope_type,
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": method,
        "scheme": scheme,
        "path": path,
        "raw_path": path.encode(),
        "query_string": query_string,
        "root_path": "",
        "headers": [
            (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers
        ],
        "client": ("testclient", 50000),
        "server": server,
    }
    if scope_type == "websocket":
        del scope["method"]
    return scope


@dataclass
class Sent:
    """What an app sent for one call."""

    messages: list[Message] = field(default_factory=list)

    async def __call__(self, message: Message) -> None:
        self.messages.append(message)

    @property
    def start(self) -> Message:
        starts = [m for m in self.messages if m["type"].endswith("http.response.start")]
        assert len(starts) == 1, self.messages
        return starts[0]

    @property
    def status(self) -> int:
        status: int = self.start["status"]
        return status

    @property
    def raw_headers(self) -> list[tuple[str, str]]:
        return [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in self.start["headers"]
        ]

    @property
    def headers(self) -> dict[str, str]:
        """Headers by lower-case name; a repeated name keeps its last value."""
        return dict(self.raw_headers)

    @property
    def body_messages(self) -> list[Message]:
        return [m for m in self.messages if m["type"].endswith("http.response.body")]

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.body_messages)


def body_receive(
    body: bytes = b"", chunks: Sequence[bytes] | None = None, disconnect: trio.Event | None = None
) -> Any:
    """A ``receive`` giving the body (whole or in chunks), then ``http.disconnect``.

    As a server does, it returns the disconnect only once the client has gone:
    when ``disconnect`` is set (never, without one).
    """
    parts = list(chunks) if chunks is not None else [body]
    messages: list[Message] = [
        {"type": "http.request", "body": part, "more_body": index < len(parts) - 1}
        for index, part in enumerate(parts)
    ]
    gone = disconnect if disconnect is not None else trio.Event()

    async def receive() -> Message:
        if messages:
            return messages.pop(0)
        await gone.wait()
        return {"type": "http.disconnect"}

    return receive


async def call(
    app: ASGIApp, scope: Scope | None = None, *, body: bytes = b"", **scope_options: Any
) -> Sent:
    """Call ``app`` once and return what it sent."""
    sent = Sent()
    await app(scope if scope is not None else make_scope(**scope_options), body_receive(body), sent)
    return sent
