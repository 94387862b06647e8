"""hypercorn's ``TCPServer.protocol_send`` writing straight to the socket (fix direct-send).

The direct write must behave as hypercorn's locked ``send_all``: a
checkpoint that raises a pending cancellation before anything is written,
whole writes in order even when the kernel takes only part of one (and a
second sender waits its turn), and a closed or reset socket reported to the
protocol as ``Closed``. Each test holds the fix and hypercorn's own
``TCPServer`` to the same expectations; through a real server, a body larger
than the socket's buffers arrives whole over HTTP/1.1 and HTTP/2.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import trio
import trio.testing
from hypercorn.config import Config
from hypercorn.events import Closed, RawData
from hypercorn.trio.tcp_server import TCPServer
from hypercorn.trio.worker_context import WorkerContext

from tests.serving import needs_fix, run_hypercorn
from trioapi import TrioAPI
from trioapi.responses import Response
from trioapi.server._direct_send import DirectSend

VERSIONS = [DirectSend, TCPServer]


class RecordingProtocol:
    """Stands for hypercorn's protocol: records what the connection tells it."""

    def __init__(self) -> None:
        self.handled: list[object] = []

    async def handle(self, event: object) -> None:
        self.handled.append(event)


@asynccontextmanager
async def connection(server_class: type) -> AsyncIterator[tuple[Any, socket.socket]]:
    """A ``server_class`` over one end of a socket pair; yields it and the other end (blocking)."""
    ours, theirs = trio.socket.socketpair()
    peer = socket.socket(fileno=theirs.detach())
    stream = trio.SocketStream(ours)
    server = server_class(None, Config(), WorkerContext(None), {}, stream)
    server.protocol = RecordingProtocol()
    try:
        yield server, peer
    finally:
        peer.close()
        await stream.aclose()


def pending(peer: socket.socket) -> bytes:
    """What the peer can read now, without waiting."""
    try:
        return peer.recv(1 << 20, socket.MSG_DONTWAIT)
    except BlockingIOError:
        return b""


@pytest.mark.parametrize("server_class", VERSIONS)
async def test_a_small_write_arrives_and_the_send_is_a_checkpoint(server_class):
    async with connection(server_class) as (server, peer):
        with trio.testing.assert_checkpoints():
            await server.protocol_send(RawData(data=b"HTTP/1.1 200 \r\n\r\n"))
        assert pending(peer) == b"HTTP/1.1 200 \r\n\r\n"
        assert server.protocol.handled == []


@pytest.mark.parametrize("server_class", VERSIONS)
async def test_a_cancelled_sender_raises_before_writing(server_class):
    async with connection(server_class) as (server, peer):
        with trio.CancelScope() as scope:
            scope.cancel()
            with pytest.raises(trio.Cancelled):
                await server.protocol_send(RawData(data=b"never"))
        assert pending(peer) == b""
        await server.protocol_send(RawData(data=b"after"))
        assert pending(peer) == b"after"


@pytest.mark.parametrize("server_class", VERSIONS)
async def test_writes_larger_than_the_buffers_arrive_whole_one_after_the_other(server_class):
    first, second = b"a" * 3_000_000, b"b" * 3_000_000
    received = bytearray()
    async with connection(server_class) as (server, peer):
        reader = trio.socket.from_stdlib_socket(peer)

        async def read_all() -> None:
            while len(received) < len(first) + len(second):
                received.extend(await reader.recv(1 << 16))

        with trio.fail_after(30):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(server.protocol_send, RawData(data=first))
                nursery.start_soon(server.protocol_send, RawData(data=second))
                await read_all()
        assert bytes(received) in (first + second, second + first)
        assert server.protocol.handled == []


@pytest.mark.parametrize("server_class", VERSIONS)
async def test_a_write_to_a_closed_peer_tells_the_protocol_closed(server_class):
    async with connection(server_class) as (server, peer):
        peer.close()
        await server.protocol_send(RawData(data=b"lost"))
        assert [type(event) for event in server.protocol.handled] == [Closed]


@pytest.mark.parametrize("server_class", VERSIONS)
async def test_a_write_after_the_server_closed_the_stream_tells_the_protocol_closed(server_class):
    async with connection(server_class) as (server, _):
        await server.stream.aclose()
        await server.protocol_send(RawData(data=b"lost"))
        assert [type(event) for event in server.protocol.handled] == [Closed]


BIG = b"0123456789abcdef" * 250_000  # 4 MB: more than the kernel takes in one send


def big_body_app() -> TrioAPI:
    app = TrioAPI()

    @app.get("/big")
    async def big() -> Response:
        return Response(BIG, media_type="application/octet-stream")

    @app.get("/small")
    async def small() -> dict[str, bool]:
        return {"ok": True}

    return app


@needs_fix("direct-send")
@pytest.mark.parametrize("http2", [False, True], ids=["HTTP/1.1", "HTTP/2"])
async def test_through_hypercorn_big_and_small_answers_arrive_whole(http2):
    async with run_hypercorn(big_body_app()) as url:
        async with httpx.AsyncClient(
            base_url=url, http1=not http2, http2=http2, timeout=10
        ) as client:
            for _ in range(2):
                small = await client.get("/small")
                big = await client.get("/big")
                assert (small.status_code, small.json()) == (200, {"ok": True})
                assert (big.status_code, big.content == BIG) == (200, True)
                assert big.http_version == ("HTTP/2" if http2 else "HTTP/1.1")
