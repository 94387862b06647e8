"""Server-sent events: ServerSentEvent, EventSourceResponse, SSE endpoints, pings, OpenAPI."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable
from typing import Annotated, Any

import httpx
import pytest
import trio
from pydantic import BaseModel, ValidationError

from tests.serving import run_hypercorn
from tests.sse_client import next_events
from trioapi import Header, TrioAPI
from trioapi.exceptions import ResponseValidationError
from trioapi.sse import (
    KEEPALIVE_COMMENT,
    PING_INTERVAL,
    EventSourceResponse,
    ServerSentEvent,
    format_sse_event,
)
from trioapi.testclient import TestClient
from trioapi.testing import AsyncTestClient
from trioapi.types import Message


class Item(BaseModel):
    name: str
    price: float = 1.0


# --- the wire format ------------------------------------------------------------


def test_format_writes_comment_event_data_id_retry_and_a_blank_line():
    assert format_sse_event(comment="hi", event="e", data="d", id="7", retry=10) == (
        b": hi\nevent: e\ndata: d\nid: 7\nretry: 10\n\n"
    )


def test_format_splits_multi_line_data_and_comments_on_any_sse_line_break():
    assert format_sse_event(data="a\nb\r\nc\rd") == b"data: a\ndata: b\ndata: c\ndata: d\n\n"
    assert format_sse_event(comment="x\ny") == b": x\n: y\n\n"
    # Not SSE line breaks, so they stay inside the one line.
    assert format_sse_event(data="a\u2028b\x0bc") == "data: a\u2028b\x0bc\n\n".encode()


def test_event_data_is_sent_as_json_and_raw_data_as_it_is():
    assert ServerSentEvent(data="hello").encode() == b'data: "hello"\n\n'
    assert ServerSentEvent(data=Item(name="x")).encode() == b'data: {"name":"x","price":1.0}\n\n'
    # FastAPI's bytes: json.dumps with its default separators and ASCII escapes.
    assert ServerSentEvent(data={"é": [1, None]}).encode() == b'data: {"\\u00e9": [1, null]}\n\n'
    assert ServerSentEvent(data=[float("nan")]).encode() == b"data: [null]\n\n"
    assert ServerSentEvent(raw_data="[DONE]", event="done").encode() == (
        b"event: done\ndata: [DONE]\n\n"
    )
    assert ServerSentEvent(comment="only a comment").encode() == b": only a comment\n\n"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"event": "a\nb"}, "'event' must be a single line"),
        ({"id": "1\r2"}, "'id' must be a single line"),
        ({"id": "1\x002"}, "'id' must not contain NUL"),
        ({"data": 1, "raw_data": "1"}, "either 'data'.*or 'raw_data'"),
        ({"retry": -1}, "greater than or equal to 0"),
    ],
)
def test_event_fields_that_would_break_the_stream_are_refused(fields: dict[str, Any], message: str):
    with pytest.raises(ValidationError, match=message):
        ServerSentEvent(**fields)


# --- EventSourceResponse ----------------------------------------------------------


async def receive_nothing() -> Message:
    await trio.sleep_forever()
    raise AssertionError("unreachable")


async def test_response_sends_event_stream_headers_and_the_chunks() -> None:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    response = EventSourceResponse(iter([b"data: 1\n\n", "data: 2\n\n"]))
    await response({"type": "http", "method": "GET"}, receive_nothing, send)
    assert sent[0]["headers"] == [
        (b"cache-control", b"no-cache"),
        (b"x-accel-buffering", b"no"),
        (b"content-type", b"text/event-stream; charset=utf-8"),
    ]
    assert [m.get("body") for m in sent[1:]] == [b"data: 1\n\n", b"data: 2\n\n", b""]


def test_response_headers_given_by_the_caller_win() -> None:
    response = EventSourceResponse(iter([]), headers={"cache-control": "no-store", "X-A": "b"})
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-accel-buffering"] == "no"
    assert response.headers["x-a"] == "b"


async def test_idle_stream_gets_a_ping_every_interval(autojump_clock: Any) -> None:
    sent: list[tuple[float, bytes]] = []

    async def send(message: Message) -> None:
        if message["type"] == "http.response.body":
            sent.append((trio.current_time(), message["body"]))

    async def slow() -> AsyncIterator[bytes]:
        yield b"data: 1\n\n"
        await trio.sleep(PING_INTERVAL * 2 + 1)  # two pings fit in the gap
        yield b"data: 2\n\n"
        await trio.sleep(PING_INTERVAL - 1)  # no ping: not idle long enough
        yield b"data: 3\n\n"

    start = trio.current_time()
    await EventSourceResponse(slow())({"type": "http"}, receive_nothing, send)
    assert [(round(t - start), body) for t, body in sent] == [
        (0, b"data: 1\n\n"),
        (15, KEEPALIVE_COMMENT),
        (30, KEEPALIVE_COMMENT),
        (31, b"data: 2\n\n"),
        (45, b"data: 3\n\n"),
        (45, b""),
    ]


async def test_ping_waits_for_a_send_blocked_by_back_pressure(autojump_clock: Any) -> None:
    sent: list[bytes] = []
    release = trio.Event()

    async def send(message: Message) -> None:
        if message.get("body") == b"data: 1\n\n":
            await release.wait()  # the client reads nothing for a long time
        if message["type"] == "http.response.body":
            sent.append(message["body"])

    async def one() -> AsyncIterator[bytes]:
        yield b"data: 1\n\n"

    async with trio.open_nursery() as nursery:
        nursery.start_soon(EventSourceResponse(one()), {"type": "http"}, receive_nothing, send)
        await trio.sleep(PING_INTERVAL * 3)
        release.set()
    # No ping was written into the middle of the blocked send, nor queued behind it.
    assert sent == [b"data: 1\n\n", b""]


# --- SSE endpoints ---------------------------------------------------------------


def make_app(log: list[str]) -> TrioAPI:
    app = TrioAPI()

    @app.get("/items", response_class=EventSourceResponse)
    async def items() -> AsyncIterable[Item]:
        yield {"name": "a", "price": "2.5", "extra": "dropped"}  # type: ignore[misc]
        yield Item(name="b")
        yield ServerSentEvent(data={"free": "form"}, event="note", id="9")  # type: ignore[misc]

    @app.get("/items-sync", response_class=EventSourceResponse)
    def items_sync() -> Iterable[Item]:
        yield Item(name="s")

    @app.get("/untyped", response_class=EventSourceResponse)
    async def untyped():
        yield {"any": "thing"}
        yield "text"

    @app.get("/bad", response_class=EventSourceResponse)
    async def bad() -> AsyncIterable[Item]:
        yield {"price": "not a number"}  # type: ignore[misc]

    @app.post("/resume", response_class=EventSourceResponse)
    async def resume(
        last_event_id: Annotated[int | None, Header()] = None,
    ) -> AsyncIterable[ServerSentEvent]:
        start = 0 if last_event_id is None else last_event_id + 1
        for i in range(start, 3):
            yield ServerSentEvent(data=i, id=str(i))

    @app.get("/endless", response_class=EventSourceResponse)
    async def endless() -> AsyncIterable[int]:
        try:
            n = 0
            while True:
                yield n
                n += 1
                await trio.sleep(1)
        finally:
            log.append("endless closed")

    return app


def test_typed_items_are_validated_and_sent_as_json_data_events():
    response = TestClient(make_app([])).get("/items")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"
    assert response.text == (
        'data: {"name":"a","price":2.5}\n\n'
        'data: {"name":"b","price":1.0}\n\n'
        'event: note\ndata: {"free": "form"}\nid: 9\n\n'
    )


def test_sync_and_untyped_sse_endpoints_stream_too():
    client = TestClient(make_app([]))
    assert client.get("/items-sync").text == 'data: {"name":"s","price":1.0}\n\n'
    assert client.get("/untyped").text == 'data: {"any": "thing"}\n\ndata: "text"\n\n'


def test_an_item_that_fails_validation_ends_the_stream_with_the_error():
    client = TestClient(make_app([]))
    # As FastAPI: the endpoint's bug is a ResponseValidationError.
    with pytest.raises(ResponseValidationError, match=r"'loc': \('response', 'name'\)"):
        client.get("/bad")


def test_last_event_id_header_is_read_as_a_header_parameter():
    client = TestClient(make_app([]))
    assert client.post("/resume").text == "data: 0\nid: 0\n\ndata: 1\nid: 1\n\ndata: 2\nid: 2\n\n"
    resumed = client.post("/resume", headers={"Last-Event-ID": "1"})
    assert resumed.text == "data: 2\nid: 2\n\n"
    assert client.post("/resume", headers={"Last-Event-ID": "x"}).status_code == 422


async def test_client_going_away_closes_the_endpoint_generator(autojump_clock: Any):
    log: list[str] = []
    async with AsyncTestClient(make_app(log)) as client:
        async with client.stream("GET", "/endless") as response:
            events = await next_events(response.aiter_lines(), 3)
        assert events == ["data: 0", "data: 1", "data: 2"]
    assert log == ["endless closed"]


def test_openapi_describes_each_event_and_its_typed_data():
    schema = TestClient(make_app([])).get("/openapi.json").json()
    event_properties = {
        "data": {"type": "string"},
        "event": {"type": "string"},
        "id": {"type": "string"},
        "retry": {"type": "integer", "minimum": 0},
    }
    typed = schema["paths"]["/items"]["get"]["responses"]["200"]["content"]
    assert typed == {
        "text/event-stream": {
            "itemSchema": {
                "type": "object",
                "properties": {
                    **event_properties,
                    "data": {
                        "type": "string",
                        "contentMediaType": "application/json",
                        "contentSchema": {"$ref": "#/components/schemas/Item"},
                    },
                },
                "required": ["data"],
            }
        }
    }
    events = schema["paths"]["/resume"]["post"]["responses"]["200"]["content"]
    assert events == {
        "text/event-stream": {"itemSchema": {"type": "object", "properties": event_properties}}
    }
    assert set(schema["components"]["schemas"]) == {
        "HTTPValidationError",
        "Item",
        "ValidationError",
    }


# --- through hypercorn -------------------------------------------------------------


@pytest.mark.parametrize("http2", [False, True], ids=["http1.1", "h2c"])
async def test_events_reach_an_httpx_client_one_by_one_through_hypercorn(http2: bool):
    app = TrioAPI()
    proceed = trio.Event()
    closed = trio.Event()

    @app.get("/feed", response_class=EventSourceResponse)
    async def feed() -> AsyncIterable[ServerSentEvent]:
        try:
            yield ServerSentEvent(data=Item(name="first"), event="item", id="1")
            # The second event waits for the client to have read the first:
            # nothing is buffered until the end of the stream.
            await proceed.wait()
            yield ServerSentEvent(raw_data="second\nline", id="2")
            await trio.sleep_forever()
        finally:
            closed.set()

    async with run_hypercorn(app) as url:
        async with httpx.AsyncClient(base_url=url, http1=not http2, http2=http2) as client:
            async with client.stream("GET", "/feed") as response:
                lines = response.aiter_lines()
                first = await next_events(lines, 1)
                proceed.set()
                second = await next_events(lines, 1)
        with trio.fail_after(5):
            await closed.wait()  # the client left: the generator's finally ran
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert "content-length" not in response.headers
    assert first == ['event: item\ndata: {"name":"first","price":1.0}\nid: 1']
    assert second == ["data: second\ndata: line\nid: 2"]
