"""A yield dependency that was set up is torn down exactly once, whatever the client does.

Against a real hypercorn: HTTP/1.1 disconnect, HTTP/2 stream reset, HTTP/2
connection close, all mid-request, and a stream reset while the last body
message waits on flow control; and, on the core, a client that stops
reading a streaming response (the send deadline).
"""

from __future__ import annotations

import h2.config
import h2.connection
import h2.errors
import pytest
import trio

from tests.serving import run_hypercorn
from trioapi import Depends, TrioAPI
from trioapi._scopes import RequestLimits
from trioapi._serve import serve_request
from trioapi.responses import Response, StreamingResponse


class Probe:
    def __init__(self) -> None:
        self.events: list[str] = []
        self.started = trio.Event()
        self.torn_down = trio.Event()


def build_app(probe: Probe, **settings) -> TrioAPI:
    app = TrioAPI(**settings)

    async def resource():
        probe.events.append("setup")
        try:
            yield "resource"
        finally:
            probe.events.append("teardown")
            probe.torn_down.set()

    @app.get("/slow")
    async def slow(value: str = Depends(resource)):
        probe.started.set()
        await trio.sleep_forever()

    @app.get("/big")
    async def big(value: str = Depends(resource)):
        probe.started.set()
        return Response(b"x" * 1_000_000)  # more than an HTTP/2 window: the send waits

    @app.get("/stream")
    async def stream(value: str = Depends(resource)):
        async def chunks():
            probe.started.set()
            while True:
                yield b"x" * 65536
                await trio.sleep(0)

        return StreamingResponse(chunks())

    return app


def host_port(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


async def open_h2(url: str, path: str) -> tuple[trio.SocketStream, h2.connection.H2Connection]:
    host, port = host_port(url)
    stream = await trio.open_tcp_stream(host, port)
    connection = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    connection.initiate_connection()
    connection.send_headers(
        1,
        [(":method", "GET"), (":path", path), (":scheme", "http"), (":authority", host)],
        end_stream=True,
    )
    await stream.send_all(connection.data_to_send())
    return stream, connection


async def wait_for_teardown(probe: Probe) -> None:
    with trio.fail_after(5):  # a missed teardown fails instead of hanging
        await probe.started.wait()
        await probe.torn_down.wait()


async def test_http11_disconnect_mid_request_tears_down_once():
    probe = Probe()
    async with run_hypercorn(build_app(probe)) as url:
        host, port = host_port(url)
        stream = await trio.open_tcp_stream(host, port)
        await stream.send_all(b"GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
        with trio.fail_after(5):
            await probe.started.wait()
        await stream.aclose()
        await wait_for_teardown(probe)
    assert probe.events == ["setup", "teardown"]


async def reset_once_started(path: str, *, after: float = 0.0) -> list[str]:
    """Request ``path`` over HTTP/2, reset the stream ``after`` seconds into the endpoint.

    Returns the probe's events once the yield dependency has been torn down.
    """
    probe = Probe()
    async with run_hypercorn(build_app(probe)) as url:
        stream, connection = await open_h2(url, path)
        with trio.fail_after(5):
            await probe.started.wait()
        await trio.sleep(after)
        connection.reset_stream(1, error_code=h2.errors.ErrorCodes.CANCEL)
        await stream.send_all(connection.data_to_send())
        await wait_for_teardown(probe)
        await stream.aclose()
    return probe.events


async def test_http2_stream_reset_mid_request_tears_down_once():
    assert await reset_once_started("/slow") == ["setup", "teardown"]


@pytest.mark.parametrize("goaway", [True, False])
async def test_http2_connection_close_mid_request_tears_down_once(goaway):
    probe = Probe()
    async with run_hypercorn(build_app(probe)) as url:
        stream, connection = await open_h2(url, "/slow")
        with trio.fail_after(5):
            await probe.started.wait()
        if goaway:
            connection.close_connection()
            await stream.send_all(connection.data_to_send())
        await stream.aclose()
        await wait_for_teardown(probe)
    assert probe.events == ["setup", "teardown"]


async def test_http2_client_leaving_a_streaming_response_tears_down_once():
    probe = Probe()
    async with run_hypercorn(build_app(probe)) as url:
        stream, _connection = await open_h2(url, "/stream")
        with trio.fail_after(5):
            await probe.started.wait()
        await stream.aclose()
        await wait_for_teardown(probe)
    assert probe.events == ["setup", "teardown"]


async def test_http2_stream_reset_during_the_last_send_tears_down_at_once():
    # The last body message waits on flow control the client never grants;
    # its stream reset cancels that send instead of leaving it to send_timeout
    # (meanwhile the watchdog has started the request's pump).
    assert await reset_once_started("/big", after=0.2) == ["setup", "teardown"]


# -- the send deadline (core, mock clock) ----------------------------------------


class StalledClient:
    """Takes the response start and the first body chunk, then never reads again."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.body_sent = False

    async def receive(self) -> dict:
        if not self.body_sent:
            self.body_sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await trio.sleep_forever()
        raise AssertionError("unreachable")

    async def send(self, message: dict) -> None:
        if len(self.sent) >= 2:
            await trio.sleep_forever()
        self.sent.append(message["type"])


async def test_a_client_that_stops_reading_is_given_up_after_send_timeout(autojump_clock):
    probe = Probe()
    app = build_app(probe)
    client = StalledClient()
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/stream",
        "raw_path": b"/stream",
        "query_string": b"",
        "headers": [],
        "app": app,
    }
    start = trio.current_time()
    with trio.fail_after(100):
        await serve_request(
            app.build_middleware_stack(),
            scope,
            client.receive,
            client.send,
            limits=RequestLimits(send_timeout=7.0),
        )
    assert trio.current_time() - start == pytest.approx(7.0)
    assert client.sent == ["http.response.start", "http.response.body"]
    assert probe.events == ["setup", "teardown"]


def test_send_timeout_defaults_to_a_minute():
    assert RequestLimits().send_timeout == 60.0
    assert TrioAPI().request_limits.send_timeout == 60.0
