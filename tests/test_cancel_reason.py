"""Why a request was cancelled, as metrics, logs and the request itself see it.

A client that stops reading (send timeout) is not a client that left: the
request is cancelled for its own reason, and ``client_disconnected`` stays false.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
import trio
from prometheus_client.parser import text_string_to_metric_families

from tests.serving import run_hypercorn
from tests.trio_support import http_scope
from trioapi import TrioAPI
from trioapi._cli.logs import access_record
from trioapi._request_state import CancelReason, ResponsePhase
from trioapi._scopes import CONTEXT_KEY, RequestContext, RequestLimits
from trioapi.metrics import instrument
from trioapi.nurseries import RequestScope
from trioapi.responses import StreamingResponse
from trioapi.telemetry._cancel import cancel_reason


class Client:
    """Sends no body; stops reading after ``reads`` messages, or leaves after them."""

    def __init__(self, *, reads: int, then: str) -> None:
        self.reads = reads
        self.then = then
        self.sent: list[dict[str, Any]] = []
        self.gone = trio.Event()

    async def receive(self) -> dict[str, Any]:
        if not self.sent:
            return {"type": "http.request", "body": b"", "more_body": False}
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        if len(self.sent) >= self.reads:
            if self.then == "leave":
                self.gone.set()
            await trio.sleep_forever()  # a client that reads nothing more
        self.sent.append(message)


def streaming_app(seen: dict[str, Any]) -> TrioAPI:
    app = TrioAPI(send_timeout=7)

    @app.get("/stream")
    async def stream(request_scope: RequestScope):
        async def chunks():
            try:
                while True:
                    yield b"chunk"
                    await trio.sleep(1)
            finally:
                seen["client_disconnected"] = request_scope.client_disconnected

        return StreamingResponse(chunks())

    @app.get("/slow", timeout=2)
    async def slow():
        await trio.sleep(10)

    return app


def cancelled_counts(app: TrioAPI, metrics: Any) -> dict[str, float]:
    counts = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        for sample in family.samples:
            if sample.name == "trioapi_requests_cancelled_total":
                counts[sample.labels["reason"]] = sample.value
    return counts


async def serve(app: TrioAPI, path: str, client: Client) -> dict[str, Any]:
    scope = http_scope(path)
    with trio.fail_after(100):
        await app(scope, client.receive, client.send)
    return scope


@pytest.mark.parametrize(
    ("then", "reason", "disconnected"),
    [("stall", "send_timeout", False), ("leave", "disconnect", True)],
)
async def test_a_client_that_stops_reading_is_not_a_client_that_left(
    autojump_clock, then, reason, disconnected
):
    seen: dict[str, Any] = {}
    app = streaming_app(seen)
    metrics = instrument(app)
    start = trio.current_time()
    scope = await serve(app, "/stream", Client(reads=3, then=then))
    assert cancelled_counts(app, metrics) == {reason: 1.0}
    assert seen == {"client_disconnected": disconnected}
    assert scope["trioapi.cancelled"] == reason
    if then == "stall":  # given up on at the send timeout, from the stalled send
        assert trio.current_time() - start == pytest.approx(2 + 7)


async def test_a_deadline_is_counted_as_a_deadline(autojump_clock):
    app = streaming_app({})
    metrics = instrument(app)
    scope = await serve(app, "/slow", Client(reads=10, then="stall"))
    assert cancelled_counts(app, metrics) == {"deadline": 1.0}
    assert scope["trioapi.cancelled"] == "deadline"


def test_the_access_line_says_why_a_request_was_cancelled():
    scope = http_scope("/stream")
    scope["trioapi.request_id"] = "abc"
    message, args, extra = access_record(scope, {"status": 200}, 0.0123)
    assert message % args == '127.0.0.1:1234 - "GET /stream HTTP/1.1" 200 12.3 ms [abc]'
    assert "cancelled" not in extra
    scope["trioapi.cancelled"] = "send_timeout"
    message, args, extra = access_record(scope, {"status": 200}, 0.0123)
    assert message % args == (
        '127.0.0.1:1234 - "GET /stream HTTP/1.1" 200 12.3 ms [abc] cancelled: send_timeout'
    )
    assert extra["cancelled"] == "send_timeout"


async def test_while_the_request_runs_the_context_tells_why():
    context = RequestContext(RequestLimits(), None, http_scope("/"))
    scope = {CONTEXT_KEY: context, "headers": []}
    with trio.CancelScope() as request_scope:
        context.request_cancel_scope = request_scope
        assert context.why_cancelled() is CancelReason.SHUTDOWN  # from outside
        context.cancel(CancelReason.SEND_TIMEOUT)
        context.cancel(CancelReason.DISCONNECT)  # the first reason stands
        assert context.why_cancelled() is CancelReason.SEND_TIMEOUT
        assert cancel_reason(scope) == "send_timeout"
        assert access_record(scope, None, 0.0)[2]["cancelled"] == "send_timeout"
        await trio.sleep(0)
    assert not context.client_disconnected
    assert context.phase is ResponsePhase.NOT_STARTED


async def test_a_deadline_that_passed_counts_before_a_later_reason(autojump_clock):
    context = RequestContext(RequestLimits(), None, http_scope("/"))
    with trio.CancelScope(deadline=trio.current_time() + 1) as request_scope:
        context.request_cancel_scope = request_scope
        with trio.CancelScope(shield=True):
            await trio.sleep(2)  # the deadline passes; nobody has seen it yet
        context.cancel(CancelReason.DISCONNECT)
        assert context.why_cancelled() is CancelReason.DEADLINE
        await trio.sleep(0)


@pytest.mark.parametrize("http2", [False, True], ids=["http1.1", "http2"])
async def test_through_hypercorn_a_client_that_stops_reading_counts_as_send_timeout(http2, caplog):
    # Over HTTP/1.1 hypercorn shields its socket writes, so the request given
    # up on stays in its send until the client leaves; it is counted then, and
    # still as a send timeout: the first reason stands.
    app = TrioAPI(send_timeout=0.3)
    metrics = instrument(app)

    @app.get("/flood")
    async def flood():
        async def chunks():
            while True:
                yield b"x" * 65536

        return StreamingResponse(chunks())

    caplog.set_level(logging.INFO, logger="trioapi")
    async with run_hypercorn(app) as url:
        async with (
            httpx.AsyncClient(base_url=url, http1=not http2, http2=http2, timeout=5) as reader,
            reader.stream("GET", "/flood") as response,
        ):
            assert response.status_code == 200
            # Reads nothing more: the socket buffers fill and the server's send waits.
            with trio.fail_after(10):
                while "Client stopped reading" not in caplog.text:
                    await trio.sleep(0.05)
        with trio.fail_after(10):  # the client has left now
            while not cancelled_counts(app, metrics):
                await trio.sleep(0.05)
    assert cancelled_counts(app, metrics) == {"send_timeout": 1.0}
