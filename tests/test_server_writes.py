"""The writes a small response takes through hypercorn (fixes skip-empty-write, h2-end-with-data, h11-head-with-body, h2-head-with-body).

hypercorn as shipped writes an HTTP/1.1 response as its head, its body and
the empty bytes h11 returns for the end of a ``Content-Length`` body, and an
HTTP/2 response as HEADERS, DATA and an empty DATA frame flagged END_STREAM,
each flushed on its own. With the fixes the empty write is gone, the head of
a response of known length goes with its body (over HTTP/2 too), and the
last DATA frame carries END_STREAM. The tests record every write that reaches the
socket (the direct send's ``send()`` and ``SocketStream.send_all``) and hold
what the client gets, a streaming response, a client that leaves and a
deadline that cuts a response to what they were.
"""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import h11
import pytest
import trio
import trio.testing
from hypercorn.events import RawData
from hypercorn.trio import run as worker_run
from hypercorn.trio.tcp_server import TCPServer

from tests.chaos_clients import H2Client, _open
from tests.serving import needs_fix, run_hypercorn
from tests.test_server_direct_send import connection, pending
from trioapi import TrioAPI
from trioapi.responses import StreamingResponse
from trioapi.server import apply_hypercorn_fixes
from trioapi.server._empty_write import SkipEmptyWrite

# --- skip-empty-write, on one connection ------------------------------------------------


async def test_an_empty_chunk_is_not_written_and_is_no_scheduler_pass():
    ran: list[str] = []

    async def other_task() -> None:
        ran.append("other task")

    async with connection(SkipEmptyWrite) as (server, peer), trio.open_nursery() as nursery:
        nursery.start_soon(other_task)  # runs at the next pass through the scheduler
        await server.protocol_send(RawData(data=b""))
        assert ran == []
        await server.protocol_send(RawData(data=b"next"))
        assert ran == ["other task"]
        assert pending(peer) == b"next"
        assert server.protocol.handled == []


@pytest.mark.parametrize("server_class", [SkipEmptyWrite, TCPServer])
async def test_a_cancelled_sender_of_an_empty_chunk_raises_as_before(server_class):
    async with connection(server_class) as (server, peer):
        with trio.CancelScope() as scope:
            scope.cancel()
            with pytest.raises(trio.Cancelled):
                await server.protocol_send(RawData(data=b""))
        assert pending(peer) == b""


async def test_hypercorn_as_shipped_passes_through_the_scheduler_for_an_empty_chunk():
    # What the fix takes away (if this fails, hypercorn changed: revisit the fix).
    async with connection(TCPServer) as (server, _):
        with trio.testing.assert_checkpoints():
            await server.protocol_send(RawData(data=b""))


# --- the writes of whole responses, through hypercorn -----------------------------------


class _RecordingSocket:
    """Stands for the direct send's socket: records what the kernel took."""

    def __init__(self, sock: Any, writes: list[bytes]) -> None:
        self._sock = sock
        self._writes = writes

    def send(self, data: Any) -> int:
        sent: int = self._sock.send(data)
        self._writes.append(bytes(data[:sent]))
        return sent


@asynccontextmanager
async def recorded(
    app: Any, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[str, list[bytes]]]:
    """Serve ``app``; yields its URL and every write of the server's connections, in order."""
    writes: list[bytes] = []
    apply_hypercorn_fixes()  # a bare app constructs no TrioAPI, which would apply them
    served: Any = worker_run.TCPServer  # with the fixes in place
    streams: set[int] = set()

    class Recording(served):  # type: ignore[misc,valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            streams.add(id(self.stream))
            if getattr(self, "_trioapi_raw", None) is not None:
                self._trioapi_raw = _RecordingSocket(self._trioapi_raw, writes)

    original_send_all = trio.SocketStream.send_all

    async def send_all(stream: trio.SocketStream, data: Any) -> None:
        if id(stream) in streams:  # not the test's client
            writes.append(bytes(data))
        await original_send_all(stream, data)

    monkeypatch.setattr(worker_run, "TCPServer", Recording)
    monkeypatch.setattr(trio.SocketStream, "send_all", send_all)
    async with run_hypercorn(app) as url:
        yield url, writes


def bare_app(gate: trio.Event) -> Any:
    """/small: 13 bytes in one body message; /stream: two, the second once ``gate`` is set;
    /fail: a start with a length, then the app fails."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        headers = [(b"content-type", b"text/plain")]
        if scope["path"] in ("/small", "/fail"):
            headers.append((b"content-length", b"13"))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        if scope["path"] == "/fail":
            raise RuntimeError("the app fails before its body")
        if scope["path"] == "/small":
            await send({"type": "http.response.body", "body": b"Hello, world!"})
            return
        await send({"type": "http.response.body", "body": b"one;", "more_body": True})
        await gate.wait()
        await send({"type": "http.response.body", "body": b"two;"})

    return app


async def warm_up(client: H2Client) -> None:
    """One request first: the connection's own frames (SETTINGS and their ACKs) are done with.

    A frame the client sends makes the server flush whatever it holds, so a
    SETTINGS ACK arriving while a response is held would split its writes.
    """
    outcome = await client.wait_over(await client.open_stream("GET", "/small", body_length=None))
    assert (outcome.status, outcome.ended) == (200, "complete")


def frames(write: bytes) -> list[tuple[str, int, bool, int]]:
    """The HTTP/2 frames of one write: (type, stream id, END_STREAM, payload length)."""
    names = {0: "DATA", 1: "HEADERS", 3: "RST_STREAM", 4: "SETTINGS", 8: "WINDOW_UPDATE"}
    found = []
    while write:
        length_high, length_low, kind, flags, stream_id = struct.unpack(">BHBBL", write[:9])
        length = length_high << 16 | length_low
        end_stream = kind in (0, 1) and bool(flags & 0x1)
        found.append((names.get(kind, str(kind)), stream_id & 0x7FFFFFFF, end_stream, length))
        write = write[9 + length :]
    return found


def of_stream(writes: list[bytes], stream_id: int) -> list[list[tuple[str, bool, int]]]:
    """Per write, the frames of ``stream_id`` in it (writes without one left out)."""
    found = []
    for write in writes:
        mine = [(kind, end, length) for kind, sid, end, length in frames(write) if sid == stream_id]
        if mine:
            found.append(mine)
    return found


@needs_fix("h2-head-with-body")
@needs_fix("h2-end-with-data")
@needs_fix("direct-send")
async def test_http2_a_small_response_is_one_write_a_streamed_one_as_before(monkeypatch):
    gate = trio.Event()
    async with recorded(bare_app(gate), monkeypatch) as (url, writes), await _open(url) as stream:
        client = H2Client(stream)
        client.conn.initiate_connection()
        await client.flush()
        with trio.fail_after(10):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(client.run_reader)
                await warm_up(client)
                small = await client.wait_over(
                    await client.open_stream("GET", "/small", body_length=None)
                )
                streamed_id = await client.open_stream("GET", "/stream", body_length=None)
                while client.outcomes[streamed_id].body != b"one;":
                    await client.changed.wait()
                gate.set()
                streamed = await client.wait_over(streamed_id)
                nursery.cancel_scope.cancel()
    assert (small.status, small.body, small.ended) == (200, b"Hello, world!", "complete")
    assert (streamed.status, streamed.body, streamed.ended) == (200, b"one;two;", "complete")
    # HEADERS and the 13 bytes ending the stream, in one write.
    assert [[(kind, end) for kind, end, _ in write] for write in of_stream(writes, 3)] == [
        [("HEADERS", False), ("DATA", True)],
    ]
    assert [[(kind, end) for kind, end, _ in write] for write in of_stream(writes, 5)] == [
        [("HEADERS", False)],
        [("DATA", False)],
        [("DATA", True)],  # the last body message's bytes end the stream
    ]


@needs_fix("h2-head-with-body")
@needs_fix("h2-reset")
async def test_http2_held_headers_go_out_for_a_head_answer_and_an_app_that_fails(monkeypatch):
    gate = trio.Event()
    async with recorded(bare_app(gate), monkeypatch) as (url, writes), await _open(url) as stream:
        client = H2Client(stream)
        client.conn.initiate_connection()
        await client.flush()
        with trio.fail_after(10):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(client.run_reader)
                await warm_up(client)
                head = await client.wait_over(
                    await client.open_stream("HEAD", "/small", body_length=None)
                )
                failed = await client.wait_over(
                    await client.open_stream("GET", "/fail", body_length=None)
                )
                nursery.cancel_scope.cancel()
    assert (head.status, head.body, head.ended) == (200, b"", "complete")
    assert [[(kind, end) for kind, end, _ in write] for write in of_stream(writes, 3)] == [
        [("HEADERS", False), ("DATA", True)],  # the head with the (empty) end of the stream
    ]
    # As before the fix: the head, then the stream is reset (fix h2-reset).
    assert (failed.status, failed.body, failed.notes) == (
        200,
        b"",
        ["reset <ErrorCodes.INTERNAL_ERROR: 2>"],
    )
    assert [kind for write in of_stream(writes, 5) for kind, _, _ in write] == [
        "HEADERS",
        "RST_STREAM",
    ]


async def http1_exchange(url: str, paths: list[tuple[str, str]], writes: list[bytes]) -> list[Any]:
    """Each (method, path) on one connection: the answer's status, body and the writes it took."""
    answers = []
    async with await _open(url) as stream:
        conn = h11.Connection(h11.CLIENT)
        for method, path in paths:
            before = len(writes)
            request = h11.Request(method=method, target=path, headers=[("host", "t")])
            await stream.send_all(conn.send(request) + conn.send(h11.EndOfMessage()))
            status, body = 0, b""
            while not isinstance(event := conn.next_event(), h11.EndOfMessage):
                if event is h11.NEED_DATA:
                    conn.receive_data(await stream.receive_some())
                elif isinstance(event, h11.Response):
                    status = event.status_code
                elif isinstance(event, h11.Data):
                    body += bytes(event.data)
            answers.append((status, body, [w.split(b"\r\n")[0] for w in writes[before:]]))
            conn.start_next_cycle()
    return answers


@needs_fix("skip-empty-write")
@needs_fix("h11-head-with-body")
@needs_fix("direct-send")
async def test_http1_a_response_of_known_length_is_one_write_a_streamed_one_as_before(monkeypatch):
    gate = trio.Event()
    gate.set()
    async with recorded(bare_app(gate), monkeypatch) as (url, writes):
        with trio.fail_after(10):
            small, head, streamed = await http1_exchange(
                url, [("GET", "/small"), ("HEAD", "/small"), ("GET", "/stream")], writes
            )
    # The head and the 13 bytes in one write; no empty write for the end of the body.
    assert small == (200, b"Hello, world!", [b"HTTP/1.1 200 "])
    assert writes[0].endswith(b"\r\n\r\nHello, world!")
    assert head == (200, b"", [b"HTTP/1.1 200 "])  # the head alone, at the end of the response
    # Chunked (no length): the head at once, each chunk, and the chunked end.
    assert streamed == (200, b"one;two;", [b"HTTP/1.1 200 ", b"4", b"4", b"0"])


@needs_fix("h11-head-with-body")
async def test_http1_a_held_head_still_goes_out_when_the_app_fails_before_its_body(monkeypatch):
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await bare_app(trio.Event())(scope, receive, send)  # the lifespan
            return
        headers = [(b"content-length", b"13")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        raise RuntimeError("the app fails before its body")

    async with recorded(app, monkeypatch) as (url, writes), await _open(url) as stream:
        with trio.fail_after(10):
            await stream.send_all(b"GET /small HTTP/1.1\r\nhost: t\r\n\r\n")
            received = b""
            while chunk := await stream.receive_some():
                received += chunk
    # As before the fix: the head, then the connection closes without the body.
    assert received.startswith(b"HTTP/1.1 200 \r\ncontent-length: 13\r\n")
    assert received.endswith(b"\r\n\r\n")
    assert writes == [received]


# --- behaviour through trioapi: a client that leaves, a deadline ------------------------


def trioapi_app(left: trio.Event) -> TrioAPI:
    app = TrioAPI()

    @app.get("/cut", timeout=0.3)
    async def cut() -> StreamingResponse:
        async def body() -> AsyncIterator[bytes]:
            yield b"first;"
            await trio.sleep_forever()  # the deadline ends the response mid-body

        return StreamingResponse(body())

    @app.get("/endless")
    async def endless() -> StreamingResponse:
        async def body() -> AsyncIterator[bytes]:
            try:
                while True:
                    yield b"tick;"
                    await trio.sleep(0.01)
            finally:
                left.set()

        return StreamingResponse(body())

    return app


@needs_fix("h2-reset")
async def test_http2_a_deadline_cut_and_a_client_that_leaves_are_seen_as_before():
    left = trio.Event()
    async with run_hypercorn(trioapi_app(left)) as url, await _open(url) as stream:
        client = H2Client(stream)
        client.conn.initiate_connection()
        await client.flush()
        with trio.fail_after(10):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(client.run_reader)
                cut = await client.wait_over(
                    await client.open_stream("GET", "/cut", body_length=None)
                )
                endless = await client.open_stream("GET", "/endless", body_length=None)
                while b"tick;" not in client.outcomes[endless].body:
                    await client.changed.wait()
                await client.reset(endless)
                await left.wait()  # the handler's generator was closed
                nursery.cancel_scope.cancel()
    assert (cut.status, cut.body, cut.ended) == (200, b"first;", "cut")
    assert cut.notes == ["reset <ErrorCodes.INTERNAL_ERROR: 2>"]


async def test_http1_a_deadline_cut_and_a_client_that_leaves_are_seen_as_before():
    left = trio.Event()
    async with run_hypercorn(trioapi_app(left)) as url:
        with trio.fail_after(10):
            async with await _open(url) as stream:
                await stream.send_all(b"GET /cut HTTP/1.1\r\nhost: t\r\n\r\n")
                received = b""
                while chunk := await stream.receive_some():
                    received += chunk
            # The head and the first chunk, then the connection closes: no chunked end.
            assert received.startswith(b"HTTP/1.1 200 ")
            assert received.endswith(b"6\r\nfirst;\r\n")
            async with await _open(url) as stream:
                await stream.send_all(b"GET /endless HTTP/1.1\r\nhost: t\r\n\r\n")
                while b"tick;" not in await stream.receive_some():
                    pass
            await left.wait()
