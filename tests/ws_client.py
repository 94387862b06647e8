"""A trio-websocket client whose TCP stream the test owns, for real-socket tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import trio
from trio_websocket import WebSocketConnection, wrap_client_stream


@asynccontextmanager
async def open_ws(
    base_url: str, resource: str, *, subprotocols: Sequence[str] | None = None
) -> AsyncIterator[WebSocketConnection]:
    """Connect to ``resource`` on the server at ``base_url`` (``http://host:port``).

    The stream is opened here and closed here: trio-websocket 0.12 leaves its
    socket open when the server closes first, which ``filterwarnings = error``
    reports as an unclosed socket.
    """
    parts = urlsplit(base_url)
    assert parts.hostname is not None and parts.port is not None
    stream = await trio.open_tcp_stream(parts.hostname, parts.port)
    try:
        async with trio.open_nursery() as nursery:
            ws = await wrap_client_stream(
                nursery, stream, parts.hostname, resource, subprotocols=subprotocols
            )
            try:
                yield ws
            finally:
                await ws.aclose()
    finally:
        await stream.aclose()
