"""Reading a connection without a deadline scope per read when there is no read timeout (fix read-without-scope).

The fix's loop must do what hypercorn's does: hand each chunk to the
protocol, stop at the end of the stream or when the stream is closed or
broken, and tell the protocol ``Closed``. With a ``read_timeout`` hypercorn's
own loop (and its ``fail_after``) runs.
"""

from __future__ import annotations

from typing import Any

import pytest
import trio
from hypercorn.trio.tcp_server import TCPServer

from tests.test_server_direct_send import connection
from trioapi.server._read_scope import ReadWithoutScope


def handled(server: Any) -> list[object]:
    return [
        (type(event).__name__, getattr(event, "data", None)) for event in server.protocol.handled
    ]


@pytest.mark.parametrize("server_class", [ReadWithoutScope, TCPServer])
async def test_chunks_then_the_end_of_the_stream_then_closed(server_class):
    async with connection(server_class) as (server, peer):
        peer.sendall(b"GET / HTTP/1.1\r\n\r\n")
        peer.shutdown(1)  # the client's FIN
        with trio.fail_after(5):
            await server._read_data()
        assert handled(server) == [
            ("RawData", b"GET / HTTP/1.1\r\n\r\n"),
            ("RawData", b""),
            ("Closed", None),
        ]


@pytest.mark.parametrize("server_class", [ReadWithoutScope, TCPServer])
async def test_a_stream_closed_by_the_server_ends_the_loop_with_closed(server_class):
    async with connection(server_class) as (server, _):
        await server.stream.aclose()
        await server._read_data()
        assert handled(server) == [("Closed", None)]


async def test_no_deadline_scope_without_a_read_timeout_and_hypercorns_loop_with_one(
    monkeypatch,
):
    entered: list[float] = []
    fail_after = trio.fail_after

    def recording_fail_after(seconds: float) -> Any:
        entered.append(seconds)
        return fail_after(seconds)

    monkeypatch.setattr(trio, "fail_after", recording_fail_after)
    for read_timeout in (None, 30):
        async with connection(ReadWithoutScope) as (server, peer):
            server.config.read_timeout = read_timeout
            peer.sendall(b"x")
            peer.shutdown(1)
            await server._read_data()
            assert handled(server)[-1] == ("Closed", None)
    assert entered == [30, 30]  # two reads with the timeout (the chunk, the end); none without
