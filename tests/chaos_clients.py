"""Bare HTTP/1.1, HTTP/2 and WebSocket clients for the chaos test, each step under the test's control.

Each client sends the request body in step with the app's reads (chunk ``i``
only once the app waits for it, never the target's chunk) and reports what
came back as an :class:`Outcome`. ``leave`` is the client disconnecting: the
HTTP/1.1 and WebSocket clients drop the TCP connection, the HTTP/2 client
resets its stream and keeps the connection for the follow-up request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h11
import trio
import wsproto
import wsproto.events

from tests.chaos_app import BODY_CHUNKS, ChaosRun, route_for


@dataclass
class Outcome:
    """What a client saw: ``complete``, ``cut`` (ended early), ``left`` (the client left)."""

    status: int | None = None
    body: bytes = b""
    ended: str = "cut"
    close_code: int | None = None  # WebSocket only
    notes: list[str] = field(default_factory=list)


async def _open(url: str) -> trio.SocketStream:
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    return await trio.open_tcp_stream(parts.hostname, parts.port)


async def _send_body(run: ChaosRun, write: object) -> None:
    """Send each body chunk once the app waits for it; stop at the target's chunk."""
    stepped = run.target != "endpoint.sync"  # a def endpoint gets its body read whole first
    for index, chunk in enumerate(BODY_CHUNKS):
        name = f"body.read.{index}"
        if name == run.target and run.kind != "shutdown":
            return
        if name == run.target:
            await run.injected.wait()  # a graceful shutdown lets the request go on
        elif stepped:
            await run.gate(name).wait()
        await write(chunk, index == len(BODY_CHUNKS) - 1)  # type: ignore[operator]


class H11Client:
    """One HTTP/1.1 request on its own connection."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.conn = h11.Connection(h11.CLIENT)
        self.outcome = Outcome()
        self.done = trio.Event()

    async def exchange(self, run: ChaosRun) -> None:
        headers = [("host", "chaos"), ("content-length", str(sum(map(len, BODY_CHUNKS))))]
        request = h11.Request(method="POST", target=route_for(run.target), headers=headers)
        await self.stream.send_all(self.conn.send(request))
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_send_body, run, self._write)
            await self._read()
            nursery.cancel_scope.cancel()

    async def _write(self, chunk: bytes, last: bool) -> None:
        data = self.conn.send(h11.Data(data=chunk))
        if last:
            data += self.conn.send(h11.EndOfMessage())
        await self.stream.send_all(data)

    async def _read(self) -> None:
        try:
            while True:
                event = self.conn.next_event()
                if event is h11.NEED_DATA:
                    self.conn.receive_data(await self.stream.receive_some())
                elif isinstance(event, h11.Response):
                    self.outcome.status = event.status_code
                elif isinstance(event, h11.Data):
                    self.outcome.body += bytes(event.data)
                elif isinstance(event, h11.EndOfMessage):
                    self.outcome.ended = "complete"
                    return
                elif isinstance(event, h11.ConnectionClosed):
                    return
        except (
            h11.RemoteProtocolError,
            trio.BrokenResourceError,
            trio.ClosedResourceError,
        ) as error:
            self.outcome.notes.append(repr(error))
        finally:
            self.done.set()


async def h11_get(url: str, path: str) -> tuple[int, bytes]:
    """A plain GET on a new connection: the follow-up request."""
    async with await _open(url) as stream:
        conn = h11.Connection(h11.CLIENT)
        await stream.send_all(
            conn.send(h11.Request(method="GET", target=path, headers=[("host", "chaos")]))
            + conn.send(h11.EndOfMessage())
        )
        status, body = 0, b""
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(await stream.receive_some())
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.Data):
                body += bytes(event.data)
            elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                return status, body


class H2Client:
    """An HTTP/2 connection whose streams the test opens, feeds and resets."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        self.outcomes: dict[int, Outcome] = {}
        self.changed = trio.Event()
        self.closed = False
        self._send_lock = trio.Lock()

    async def flush(self) -> None:
        async with self._send_lock:
            data = self.conn.data_to_send()
            if data and not self.closed:
                try:
                    await self.stream.send_all(data)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    self.closed = True

    async def run_reader(self) -> None:
        try:
            while not self.closed:
                data = await self.stream.receive_some()
                if not data:
                    break
                for event in self.conn.receive_data(data):
                    self._handle(event)
                await self.flush()
                self._wake()
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        finally:
            self.closed = True
            self._wake()

    def _wake(self) -> None:
        self.changed.set()
        self.changed = trio.Event()

    def _handle(self, event: h2.events.Event) -> None:
        outcome = self.outcomes.get(getattr(event, "stream_id", 0) or 0)
        if isinstance(event, h2.events.ResponseReceived) and outcome is not None:
            outcome.status = int(dict(event.headers)[b":status"])
        elif isinstance(event, h2.events.DataReceived):
            self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            if outcome is not None:
                outcome.body += event.data
        elif isinstance(event, h2.events.StreamEnded) and outcome is not None:
            outcome.ended = "complete"
        elif isinstance(event, h2.events.StreamReset) and outcome is not None:
            outcome.notes.append(f"reset {event.error_code!r}")
        elif isinstance(event, h2.events.ConnectionTerminated):
            self.closed = True

    def is_over(self, stream_id: int) -> bool:
        outcome = self.outcomes[stream_id]
        return self.closed or outcome.ended != "cut" or bool(outcome.notes)

    async def wait_over(self, stream_id: int) -> Outcome:
        while not self.is_over(stream_id):
            await self.changed.wait()
        return self.outcomes[stream_id]

    async def open_stream(self, method: str, path: str, *, body_length: int | None) -> int:
        stream_id = self.conn.get_next_available_stream_id()
        self.outcomes[stream_id] = Outcome()
        headers = [(":method", method), (":path", path), (":scheme", "http"), (":authority", "c")]
        if body_length is not None:
            headers.append(("content-length", str(body_length)))
        self.conn.send_headers(stream_id, headers, end_stream=body_length is None)
        await self.flush()
        return stream_id

    async def exchange(self, run: ChaosRun) -> int:
        """Open the chaos request's stream and feed its body; returns the stream id."""
        length = sum(map(len, BODY_CHUNKS))
        stream_id = await self.open_stream("POST", route_for(run.target), body_length=length)

        async def write(chunk: bytes, last: bool) -> None:
            if not self.is_over(stream_id):
                self.conn.send_data(stream_id, chunk, end_stream=last)
                await self.flush()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(_send_body, run, write)
            await self.wait_over(stream_id)
            nursery.cancel_scope.cancel()
        return stream_id

    async def reset(self, stream_id: int) -> None:
        try:
            self.conn.reset_stream(stream_id, h2.errors.ErrorCodes.CANCEL)
        except h2.exceptions.StreamClosedError:
            return  # the server ended or reset it first
        await self.flush()


class WsClient:
    """One WebSocket: handshake, one text message, its echo, the close."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.ws = wsproto.WSConnection(wsproto.ConnectionType.CLIENT)
        self.outcome = Outcome()
        self.done = trio.Event()

    async def exchange(self, run: ChaosRun) -> None:
        await self.stream.send_all(self.ws.send(wsproto.events.Request(host="chaos", target="/ws")))
        try:
            while True:
                data = await self.stream.receive_some()
                if not data:
                    return
                self.ws.receive_data(data)
                for event in self.ws.events():
                    if await self._handle(event, run):
                        return
        except (trio.BrokenResourceError, trio.ClosedResourceError) as error:
            self.outcome.notes.append(repr(error))
        finally:
            self.done.set()

    async def _handle(self, event: wsproto.events.Event, run: ChaosRun) -> bool:
        out = self.outcome
        if isinstance(event, wsproto.events.AcceptConnection):
            out.status = 101
            if run.target != "ws.receive":
                await run.gate("ws.receive").wait()
                await self.stream.send_all(self.ws.send(wsproto.events.TextMessage(data="hi")))
        elif isinstance(event, wsproto.events.RejectConnection):
            out.status = event.status_code
            out.ended = "complete" if not event.has_body else "cut"
            return not event.has_body
        elif isinstance(event, wsproto.events.RejectData):
            out.body += bytes(event.data)
            if event.body_finished:
                out.ended = "complete"
                return True
        elif isinstance(event, wsproto.events.TextMessage):
            out.body += event.data.encode()
        elif isinstance(event, wsproto.events.CloseConnection):
            out.close_code = event.code
            out.ended = "complete"
            await self.stream.send_all(self.ws.send(event.response()))
            return True
        return False
