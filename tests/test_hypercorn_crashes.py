"""hypercorn 0.17/0.18's trio worker dies of a send race; trioapi's serving path survives it.

Root cause (docs/hypercorn-bug-report.md): ``TCPServer._close()`` calls
``send_eof()`` outside ``send_lock``; trio holds the stream's send conflict
detector across a checkpoint there, so a concurrent locked ``send_all``
raises ``BusyResourceError`` in the HTTP/2 send task or the read task, and
that error ends the worker. The reproductions below crash an unpatched
worker in most runs; with the server layer's fix ``send-eof-lock``
(``trioapi.server._send_eof``) they must never crash.
"""

from __future__ import annotations

import h2.config
import h2.connection
import h2.events
import httpx
import trio
import trio.testing
from hypercorn.app_wrappers import ASGIWrapper
from hypercorn.config import Config
from hypercorn.events import Closed, RawData
from hypercorn.protocol.events import EndBody, Response
from hypercorn.protocol.events import Request as RequestEvent
from hypercorn.protocol.http_stream import HTTPStream
from hypercorn.trio import run as worker_run
from hypercorn.trio.task_group import TaskGroup
from hypercorn.trio.tcp_server import TCPServer
from hypercorn.trio.worker_context import WorkerContext

from tests.serving import needs_fix, run_hypercorn
from trioapi import Request, TrioAPI
from trioapi.server import applied_hypercorn_fixes, apply_hypercorn_fixes
from trioapi.server._send_eof import SendEOFUnderLock

needs_send_eof_lock = needs_fix("send-eof-lock")


def served_tcp_server() -> type[TCPServer]:
    """The connection class hypercorn's trio worker builds now (the fixes applied)."""
    apply_hypercorn_fixes()
    server_class: type[TCPServer] = worker_run.TCPServer
    assert issubclass(server_class, SendEOFUnderLock)
    return server_class


def build_app() -> TrioAPI:
    app = TrioAPI()

    @app.get("/")
    async def root():
        return {"ok": True}

    @app.post("/ignore-body")
    async def ignore_body():
        # Answers without reading the request body.
        return {"ignored": True}

    @app.post("/read-body")
    async def read_body(request: Request):
        return {"size": len(await request.body())}

    return app


def host_port(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


async def read_until_eof(stream: trio.SocketStream) -> bytes:
    received = b""
    with trio.fail_after(5):  # a hang is a failure, not a wait
        while True:
            try:
                data = await stream.receive_some()
            except trio.BrokenResourceError:
                return received
            if not data:
                return received
            received += data


# -- (a) HTTP/2 client closes the connection while responses are in flight ----


async def h2_request_then_hang_up(url: str, requests: int) -> None:
    """Open an h2 connection, send ``requests`` GETs, then GOAWAY and close at once."""
    host, port = host_port(url)
    stream = await trio.open_tcp_stream(host, port)
    connection = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    connection.initiate_connection()
    for index in range(requests):
        connection.send_headers(
            1 + 2 * index,
            [(":method", "GET"), (":path", "/"), (":scheme", "http"), (":authority", host)],
            end_stream=True,
        )
    try:
        await stream.send_all(connection.data_to_send())
        # Wait for the first response bytes so the rest are in flight.
        await stream.receive_some()
        connection.close_connection()
        await stream.send_all(connection.data_to_send())
    except trio.BrokenResourceError:
        pass
    finally:
        await stream.aclose()


@needs_send_eof_lock
async def test_http2_clients_hanging_up_mid_response_do_not_kill_the_worker():
    # 2 rounds of 16 connections x 4 requests crash an unpatched worker in
    # 10 runs out of 10 on a laptop. The short graceful timeout: hypercorn
    # leaves the app tasks whose response was cut off waiting until shutdown.
    async with run_hypercorn(build_app(), graceful_timeout=0.2) as url:
        for _round in range(2):
            async with trio.open_nursery() as nursery:
                for _ in range(16):
                    nursery.start_soon(h2_request_then_hang_up, url, 4)
        async with httpx.AsyncClient(base_url=url) as client:
            after = await client.get("/")
    # Reaching here means serve() did not raise; the worker still answers.
    assert after.status_code == 200
    assert after.json() == {"ok": True}
    assert "send-eof-lock" in applied_hypercorn_fixes()


# -- (b) malformed chunked body to a route that does not read it ---------------

MALFORMED_CHUNKED = [
    b"5\r\nhello\r\nZZ\r\n",  # illegal chunk size
    b"5\r\nhelloXX\r\n",  # bad chunk footer
    b"5\r\nhello\r\n" * 20 + b"QQ\r\n",
    b"-1\r\n",
]


async def send_malformed_chunked(url: str, path: str, body: bytes, split: bool) -> bytes:
    host, port = host_port(url)
    stream = await trio.open_tcp_stream(host, port)
    head = f"POST {path} HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\r\n"
    try:
        if split:
            await stream.send_all(head.encode())
            await trio.sleep(0)
            for start in range(0, len(body), 3):
                await stream.send_all(body[start : start + 3])
        else:
            await stream.send_all(head.encode() + body)
        return await read_until_eof(stream)
    except trio.BrokenResourceError:
        return b""
    finally:
        await stream.aclose()


@needs_send_eof_lock
async def test_malformed_chunked_body_to_a_route_that_ignores_it_does_not_kill_the_worker():
    answers: list[bytes] = []

    async def one(url: str, path: str, body: bytes, split: bool) -> None:
        answers.append(await send_malformed_chunked(url, path, body, split))

    async with run_hypercorn(build_app()) as url:
        for _round in range(4):
            async with trio.open_nursery() as nursery:
                for index in range(24):
                    body = MALFORMED_CHUNKED[index % len(MALFORMED_CHUNKED)]
                    path = "/ignore-body" if index % 3 else "/read-body"
                    nursery.start_soon(one, url, path, body, bool(index % 2))
        async with httpx.AsyncClient(base_url=url) as client:
            after = await client.post("/read-body", content=b"abc")
    assert after.json() == {"size": 3}
    assert len(answers) == 96
    # Every answer is a complete status line or nothing (connection closed
    # on the broken body); never a 500.
    statuses = {answer.split(b" ", 2)[1] for answer in answers if answer}
    assert statuses <= {b"200", b"400"}
    assert b" 500 " not in b"".join(answers)


# -- the mechanism, on hypercorn's TCPServer over a real socket pair -----------


class RecordingProtocol:
    def __init__(self) -> None:
        self.events: list[object] = []

    async def handle(self, event: object) -> None:
        self.events.append(event)


async def race_close_against_send(server_class: type[TCPServer]) -> list[BaseException]:
    """Run ``protocol_send(RawData)`` and ``_close()`` at once, in the racy order."""
    ours, theirs = trio.socket.socketpair()
    stream = trio.SocketStream(ours)
    server = server_class(None, Config(), WorkerContext(None), {}, stream)
    server.protocol = RecordingProtocol()
    errors: list[BaseException] = []

    async def capture(fn, *args) -> None:
        try:
            await fn(*args)
        except Exception as error:
            errors.append(error)

    async with trio.open_nursery() as nursery:
        # The sender takes send_lock first and parks; releasing it hands the
        # lock over while _close() is about to run: both then run in the same
        # batch, in trio's (randomised) order.
        await server.send_lock.acquire()
        nursery.start_soon(capture, server.protocol_send, RawData(data=b"x" * 10))
        await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(capture, server._close)
        server.send_lock.release()
    theirs.close()
    return errors


@needs_send_eof_lock
async def test_fixed_close_never_overlaps_a_locked_send():
    server_class = served_tcp_server()
    for _ in range(40):
        errors = await race_close_against_send(server_class)
        assert errors == []


async def test_original_close_does_collide_with_a_locked_send():
    # The bug itself: with hypercorn's own _close, some runs end in
    # BusyResourceError raised out of protocol_send (trio randomises which
    # of the two tasks runs first, so 40 runs all missing it is ~1e-12).
    # The fix subclasses TCPServer: hypercorn's own class is unchanged.
    collisions = []
    for _ in range(40):
        collisions += await race_close_against_send(TCPServer)
    assert collisions
    assert {type(error) for error in collisions} == {trio.BusyResourceError}


@needs_send_eof_lock
async def test_fixed_close_still_sends_eof_when_nobody_is_sending():
    ours, theirs = trio.socket.socketpair()
    server = served_tcp_server()(None, Config(), WorkerContext(None), {}, trio.SocketStream(ours))
    server.protocol = RecordingProtocol()
    peer = trio.SocketStream(theirs)
    await server._close()
    assert await peer.receive_some() == b""  # the EOF arrived
    assert ours.fileno() == -1  # and the socket is closed
    # A send after close reports Closed to the protocol instead of raising.
    await server.protocol_send(RawData(data=b"late"))
    assert [type(event) for event in server.protocol.events] == [Closed]
    await peer.aclose()


@needs_send_eof_lock
async def test_trioapi_served_by_hypercorn_has_the_fix_in_place():
    async with run_hypercorn(build_app()):
        assert "send-eof-lock" in applied_hypercorn_fixes()
        assert issubclass(worker_run.TCPServer, SendEOFUnderLock)


# -- (c) a response start cut half-way by the request's deadline --------------


async def serve_through_http_stream(app: TrioAPI, protocol_send) -> None:
    async with TaskGroup() as task_group:
        stream = HTTPStream(
            ASGIWrapper(app),
            Config(),
            WorkerContext(None),
            task_group,
            False,
            ("127.0.0.1", 50000),
            ("127.0.0.1", 8000),
            protocol_send,
            1,
        )
        await stream.handle(
            RequestEvent(
                stream_id=1,
                headers=[(b"host", b"test")],
                http_version="1.1",
                method="GET",
                raw_path=b"/",
                state={},
            )
        )
        await stream.handle(EndBody(stream_id=1))


@needs_fix("response-start-repair")
async def test_a_start_cut_by_the_send_timeout_leaves_hypercorn_one_response(autojump_clock):
    # hypercorn's stream hands the start to its protocol, which records it at
    # once, then waits for the socket; the send timeout passes during that wait.
    # Unrepaired, the stream then answers a second response (500) on top, which
    # h11 refuses with LocalProtocolError, ending the worker.
    app = TrioAPI(send_timeout=1)

    @app.get("/")
    async def answer():
        return {"late": "by the socket"}

    protocol_saw: list[tuple[str, int | None]] = []

    async def protocol_send(event) -> None:
        protocol_saw.append((type(event).__name__, getattr(event, "status_code", None)))
        if isinstance(event, Response):
            await trio.sleep(5)  # a client that takes nothing: the send timeout passes

    await serve_through_http_stream(app, protocol_send)
    assert protocol_saw[0] == ("Response", 200)
    assert [name for name, _ in protocol_saw].count("Response") == 1  # no second one (500)
    assert protocol_saw[-1] == ("StreamClosed", None)


async def test_a_deadline_passing_while_the_start_is_written_does_not_cut_it(autojump_clock):
    # The same wait, but the request's deadline passes during it: the start is
    # written whole (a cut one leaves the client a closed connection and no
    # status line), and the response goes on as any that had started.
    app = TrioAPI()

    @app.get("/", timeout=1)
    async def just_in_time():
        await trio.sleep(0.9)
        return {"late": "by the socket"}

    protocol_saw: list[tuple[str, int | None]] = []

    async def protocol_send(event) -> None:
        protocol_saw.append((type(event).__name__, getattr(event, "status_code", None)))
        if isinstance(event, Response):
            await trio.sleep(0.5)  # a slow socket: the deadline passes here
            protocol_saw.append(("written", None))

    await serve_through_http_stream(app, protocol_send)
    assert protocol_saw[:2] == [("Response", 200), ("written", None)]
    assert protocol_saw[-1] == ("StreamClosed", None)
    assert [name for name, _ in protocol_saw].count("Response") == 1
