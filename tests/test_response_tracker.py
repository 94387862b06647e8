"""The server only ever sees a valid response: one start, body messages, nothing after the end."""

import logging
from typing import Annotated

import pytest
import trio

from tests.trio_support import call, http_scope
from trioapi import Depends, TrioAPI
from trioapi._scopes import RequestLimits
from trioapi._serve import serve_request
from trioapi.types import Receive, Scope, Send

START = {"type": "http.response.start", "status": 200, "headers": []}
SECOND_START = {"type": "http.response.start", "status": 500, "headers": []}


def body(data: bytes, more: bool = False) -> dict:
    return {"type": "http.response.body", "body": data, "more_body": more}


class Server:
    """Records what reaches the server; each send may take ``send_delay`` seconds."""

    def __init__(self, send_delay: float = 0) -> None:
        self.sent: list[dict] = []
        self.send_delay = send_delay

    async def receive(self) -> dict:
        await trio.sleep_forever()
        raise AssertionError("unreachable")

    async def send(self, message: dict) -> None:
        if self.send_delay:
            await trio.sleep(self.send_delay)
        self.sent.append(message)


async def serve(app, server: Server, **limits) -> None:
    await serve_request(
        app, http_scope("/"), server.receive, server.send, limits=RequestLimits(**limits)
    )


@pytest.mark.parametrize(
    ("messages", "reaches_server", "what"),
    [
        ([START, body(b"whole"), SECOND_START], [START, body(b"whole")], "a second response start"),
        (
            [START, body(b"part", more=True), SECOND_START],
            [START, body(b"part", more=True)],
            "a second response start",
        ),
        (
            [START, body(b"whole"), body(b"more")],
            [START, body(b"whole")],
            "a response body after the last one",
        ),
    ],
)
async def test_an_invalid_message_is_refused_logged_and_ends_the_request(
    messages, reaches_server, what, caplog
):
    after_refusal = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        for message in messages:
            await send(message)
        after_refusal.append("the app went on")

    server = Server()
    with caplog.at_level(logging.ERROR, logger="trioapi"):
        await serve(app, server)
    assert server.sent == reaches_server
    assert after_refusal == []
    assert [r.getMessage().split(": ", 1)[1] for r in caplog.records] == [
        f"the app sent {what} ({messages[-1]['type']}); it was not sent and the request is ended"
    ]


async def test_a_body_before_the_start_is_an_error_of_the_app():
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(body(b"too soon"))

    server = Server()
    with pytest.raises(RuntimeError, match="response body before http.response.start"):
        await serve(app, server)
    assert server.sent == []


async def test_a_start_after_the_deadline_is_not_sent_and_504_is(autojump_clock):
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        # Uncancellable work past the deadline, then the app's own answer.
        with trio.CancelScope(shield=True):
            await trio.sleep(2)
        await send(START)
        await send(body(b"late"))

    server = Server()
    await serve(app, server, timeout=1)
    assert [m.get("status") for m in server.sent if "status" in m] == [504]


async def test_an_error_in_teardown_past_the_deadline_is_logged_and_504_answered(
    autojump_clock, caplog
):
    app = TrioAPI()

    async def session():
        try:
            yield
        finally:
            raise RuntimeError("rollback failed")  # noqa: B012 - the case under test

    @app.get("/slow", timeout=1)
    async def slow(_: Annotated[None, Depends(session)]):
        await trio.sleep(10)

    with caplog.at_level(logging.ERROR, logger="trioapi"):
        exchange = await call(app, "/slow", headers=[(b"x-request-id", b"r1")])
    assert exchange.status == 504
    [record] = caplog.records
    assert record.getMessage() == "Unhandled error in GET /slow (request id r1)"
    assert str(record.exc_info[1]) == "rollback failed"
