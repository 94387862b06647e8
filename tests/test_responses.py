"""Response classes, called as bare ASGI apps with hand-made scope, receive and send."""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import trio

from trioapi._scopes import RequestLimits
from trioapi._serve import serve_request
from trioapi.background import BackgroundTask
from trioapi.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from trioapi.types import Message

# --- helpers shared with the other response test modules -------------------


def http_scope(
    path: str = "/",
    *,
    method: str = "GET",
    headers: list[tuple[str, str]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A minimal HTTP scope as hypercorn would build it."""
    raw = [
        (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers or []
    ]
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 5000),
        "root_path": "",
        "path": path,
        "raw_path": path.encode("utf-8"),
        "query_string": b"",
        "headers": [(b"host", b"testserver"), *raw],
    }
    scope.update(extra)
    return scope


async def receive_body_then_wait() -> Message:
    """A receive that, like the receive pump after the body, waits for a disconnect."""
    await trio.sleep_forever()
    raise AssertionError("unreachable")


class Sent:
    """Records what an app sends and splits it into status, headers and body."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def __call__(self, message: Message) -> None:
        self.messages.append(message)

    @property
    def status(self) -> int:
        return int(self.messages[0]["status"])

    @property
    def headers(self) -> list[tuple[bytes, bytes]]:
        return list(self.messages[0]["headers"])

    def header(self, name: str) -> str | None:
        values = [v.decode("latin-1") for k, v in self.headers if k == name.encode()]
        return values[0] if values else None

    @property
    def body(self) -> bytes:
        return b"".join(bytes(m.get("body", b"")) for m in self.messages[1:])


async def call(
    app: Callable[..., Any], scope: dict[str, Any] | None = None, receive: Any = None
) -> Sent:
    sent = Sent()
    await app(scope or http_scope(), receive or receive_body_then_wait, sent)
    return sent


# --- Response ----------------------------------------------------------------


async def test_response_sends_start_then_body_with_content_length_and_type() -> None:
    sent = await call(Response("hello", media_type="text/plain"))
    assert sent.messages == [
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", b"5"), (b"content-type", b"text/plain; charset=utf-8")],
        },
        {"type": "http.response.body", "body": b"hello"},
    ]


async def test_response_renders_bytes_str_and_none() -> None:
    assert Response(b"\xff").body == b"\xff"
    assert Response("é").body == "é".encode()
    assert Response().body == b""
    assert Response().raw_headers == [(b"content-length", b"0")]


def test_response_refuses_content_it_cannot_render() -> None:
    with pytest.raises(TypeError, match="content must be str, bytes or memoryview, not dict"):
        Response({"a": 1})


def test_text_media_type_gets_charset_unless_given() -> None:
    assert HTMLResponse("x").headers["content-type"] == "text/html; charset=utf-8"
    assert PlainTextResponse("x").headers["content-type"] == "text/plain; charset=utf-8"
    explicit = Response("x", media_type="text/csv; charset=latin-1")
    assert explicit.headers["content-type"] == "text/csv; charset=latin-1"
    assert Response(b"x", media_type="image/png").headers["content-type"] == "image/png"


def test_given_headers_are_lowercased_and_win_over_computed_ones() -> None:
    response = Response(
        "abc",
        headers={"X-Thing": "1", "Content-Type": "x/y", "Content-Length": "3"},
        media_type="text/plain",
    )
    assert response.raw_headers == [
        (b"x-thing", b"1"),
        (b"content-type", b"x/y"),
        (b"content-length", b"3"),
    ]


@pytest.mark.parametrize("status", [101, 204, 304])
async def test_bodyless_statuses_send_no_content_length_and_no_body(status: int) -> None:
    sent = await call(Response("ignored", status_code=status))
    assert sent.status == status
    assert sent.header("content-length") is None
    assert sent.messages[1] == {"type": "http.response.body", "body": b""}


def test_headers_view_is_live() -> None:
    response = Response("x")
    response.headers["X-Added"] = "yes"
    assert (b"x-added", b"yes") in response.raw_headers
    del response.headers["content-length"]
    assert response.raw_headers == [(b"x-added", b"yes")]


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Bad": "a\r\nSet-Cookie: evil=1"},
        {"X-Bad": "a\nb"},
        {"X-Bad": "a\rb"},
        {"X-Bad": "a\x00b"},
        {"X-Bad\r\nInjected": "1"},
    ],
)
def test_constructor_refuses_header_with_cr_lf_or_nul(headers: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="contains CR, LF or NUL"):
        Response("x", headers=headers)


@pytest.mark.parametrize(
    ("name", "value"), [("x-bad", "a\r\nb"), ("x-bad", "a\x00"), ("x\nbad", "1")]
)
def test_header_assignment_refuses_cr_lf_or_nul(name: str, value: str) -> None:
    response = Response("x")
    with pytest.raises(ValueError):
        response.headers[name] = value
    assert response.raw_headers == [(b"content-length", b"1")]


async def test_websocket_denial_response_uses_websocket_prefix() -> None:
    sent = await call(PlainTextResponse("no", status_code=403), http_scope(type="websocket"))
    assert [m["type"] for m in sent.messages] == [
        "websocket.http.response.start",
        "websocket.http.response.body",
    ]
    assert sent.status == 403


async def test_background_task_runs_after_the_body_is_sent() -> None:
    events: list[str] = []

    async def send(message: Message) -> None:
        events.append(message["type"])

    async def task(name: str) -> None:
        events.append(f"background {name}")

    response = Response("x", background=BackgroundTask(task, "async"))
    await response(http_scope(), receive_body_then_wait, send)
    sync_events: list[str] = []
    sync_response = Response("x", background=BackgroundTask(sync_events.append, "sync"))
    await sync_response(http_scope(), receive_body_then_wait, Sent())
    assert events == ["http.response.start", "http.response.body", "background async"]
    assert sync_events == ["sync"]


# --- cookies ----------------------------------------------------------------


def set_cookie_header(response: Response) -> str:
    values = [v.decode("latin-1") for k, v in response.raw_headers if k == b"set-cookie"]
    assert len(values) == 1
    return values[0]


def test_set_cookie_with_every_option() -> None:
    response = Response()
    expires = dt.datetime(2037, 1, 22, 12, 0, 10, tzinfo=dt.UTC)
    response.set_cookie(
        "mycookie",
        "myvalue",
        max_age=10,
        expires=expires,
        path="/",
        domain="localhost",
        secure=True,
        httponly=True,
        samesite="none",
        partitioned=True,
    )
    assert set_cookie_header(response) == (
        "mycookie=myvalue; Domain=localhost; expires=Thu, 22 Jan 2037 12:00:10 GMT; "
        "HttpOnly; Max-Age=10; Path=/; SameSite=none; Secure; Partitioned"
    )


def test_set_cookie_defaults_to_path_root_and_samesite_lax() -> None:
    response = Response()
    response.set_cookie("a", "b")
    assert set_cookie_header(response) == "a=b; Path=/; SameSite=lax"


def test_set_cookie_expires_as_seconds_or_string() -> None:
    in_seconds = Response()
    in_seconds.set_cookie("a", "b", expires=10, path=None, samesite=None)
    assert re.fullmatch(
        r"a=b; expires=\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT",
        set_cookie_header(in_seconds),
    )
    as_text = Response()
    as_text.set_cookie("a", "b", expires="Thu, 01 Jan 2037 00:00:00 GMT", path=None, samesite=None)
    assert set_cookie_header(as_text) == "a=b; expires=Thu, 01 Jan 2037 00:00:00 GMT"


def test_set_cookie_quotes_a_value_with_special_characters() -> None:
    response = Response()
    response.set_cookie("a", "x y;z", samesite=None, path=None)
    assert set_cookie_header(response) == r'a="x y\073z"'


def test_delete_cookie_expires_it_now() -> None:
    response = Response()
    response.delete_cookie(
        "session", domain="example.com", secure=True, httponly=True, samesite="strict"
    )
    assert re.fullmatch(
        r'session=""; Domain=example\.com; expires=[^;]+ GMT; HttpOnly; Max-Age=0; Path=/; SameSite=strict; Secure',
        set_cookie_header(response),
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"path": "/\r\nX-Evil: 1"},
        {"domain": "example.com\n"},
        {"path": "/a;b"},
        {"expires": "Thu\r\n"},
    ],
)
def test_set_cookie_refuses_attributes_that_would_corrupt_the_header(
    kwargs: dict[str, Any],
) -> None:
    with pytest.raises(ValueError, match="control character or ';'"):
        Response().set_cookie("a", "b", **kwargs)


def test_set_cookie_refuses_cr_lf_nul_in_key() -> None:
    with pytest.raises(ValueError, match="contains CR, LF or NUL"):
        Response().set_cookie("a\r\nb", "c")


def test_set_cookie_refuses_cr_lf_in_value() -> None:
    response = Response()
    with pytest.raises(ValueError, match="contains CR, LF or NUL"):
        response.set_cookie("a", "x\r\nSet-Cookie: evil=1")


def test_set_cookie_refuses_unknown_samesite() -> None:
    with pytest.raises(
        ValueError, match="samesite must be 'strict', 'lax' or 'none', not 'sometimes'"
    ):
        Response().set_cookie("a", "b", samesite="sometimes")  # type: ignore[arg-type]


# --- JSON and redirects -----------------------------------------------------------


def test_json_response_is_compact_utf8_json() -> None:
    response = JSONResponse({"name": "café", "items": [1, 2.5, None, True]})
    assert response.body == '{"name":"café","items":[1,2.5,null,true]}'.encode()
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-length"] == str(len(response.body))
    assert JSONResponse(None).body == b"null"


def test_json_response_refuses_nan() -> None:
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        JSONResponse({"x": float("nan")})


async def test_redirect_response_sends_location_and_empty_body() -> None:
    sent = await call(RedirectResponse("/next?a=1&b=2#frag"))
    assert sent.status == 307
    assert sent.headers == [(b"content-length", b"0"), (b"location", b"/next?a=1&b=2#frag")]
    assert sent.body == b""


def test_redirect_response_quotes_unsafe_characters_in_location() -> None:
    response = RedirectResponse("/a b/é?x=<y>\r\nSet-Cookie: evil", status_code=301)
    assert response.status_code == 301
    assert response.headers["location"] == "/a%20b/%C3%A9?x=%3Cy%3E%0D%0ASet-Cookie:%20evil"
    assert RedirectResponse("/already%20quoted").headers["location"] == "/already%20quoted"


# --- StreamingResponse -------------------------------------------------------------


async def test_streaming_response_sends_async_chunks_then_an_empty_last_one() -> None:
    async def numbers() -> AsyncIterator[str | bytes]:
        yield "1, "
        yield b"2, "
        yield "3"

    sent = await call(StreamingResponse(numbers(), media_type="text/plain", headers={"X-A": "b"}))
    assert sent.messages == [
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"x-a", b"b"), (b"content-type", b"text/plain; charset=utf-8")],
        },
        {"type": "http.response.body", "body": b"1, ", "more_body": True},
        {"type": "http.response.body", "body": b"2, ", "more_body": True},
        {"type": "http.response.body", "body": b"3", "more_body": True},
        {"type": "http.response.body", "body": b"", "more_body": False},
    ]


async def test_streaming_response_iterates_a_sync_iterator_in_a_worker_thread() -> None:
    threads: list[int] = []

    def chunks() -> Iterator[str]:
        for text in ("a", "b"):
            threads.append(threading.get_ident())
            yield text

    sent = await call(StreamingResponse(chunks()))
    assert sent.body == b"ab"
    assert sent.messages[-1] == {"type": "http.response.body", "body": b"", "more_body": False}
    assert threads and threading.get_ident() not in threads


async def test_streaming_response_accepts_a_plain_list() -> None:
    sent = await call(StreamingResponse([b"x", "y"]))
    assert sent.body == b"xy"


async def test_streaming_response_runs_background_after_the_last_chunk() -> None:
    events: list[str] = []

    async def send(message: Message) -> None:
        events.append(f"{message['type']} {message.get('more_body', '')}")

    async def background() -> None:
        events.append("background")

    response = StreamingResponse(iter([b"a"]), background=BackgroundTask(background))
    await response(http_scope(), receive_body_then_wait, send)
    assert events == [
        "http.response.start ",
        "http.response.body True",
        "http.response.body False",
        "background",
    ]


async def test_stream_cut_by_disconnect_runs_the_async_generator_finally(
    autojump_clock: Any,
) -> None:
    log: list[str] = []
    first_chunk_sent = trio.Event()

    async def forever() -> AsyncIterator[bytes]:
        try:
            while True:
                yield b"tick"
                await trio.sleep(1)
        finally:
            log.append("finally")

    async def receive() -> Message:
        await first_chunk_sent.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        if message.get("body"):
            first_chunk_sent.set()
        log.append(message["type"])

    await StreamingResponse(forever())(http_scope(), receive, send)
    assert log == ["http.response.start", "http.response.body", "finally"]


async def test_disconnect_while_send_blocks_closes_the_suspended_generator() -> None:
    log: list[str] = []
    blocked = trio.Event()

    async def chunks() -> AsyncIterator[bytes]:
        try:
            yield b"a"
            yield b"b"
        finally:
            # The generator is closed shielded, so its finally may still await.
            await trio.sleep(0)
            log.append("finally")

    async def receive() -> Message:
        await blocked.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        if message.get("body"):
            blocked.set()
            await trio.sleep_forever()

    await StreamingResponse(chunks())(http_scope(), receive, send)
    assert log == ["finally"]


async def test_stream_cut_by_disconnect_closes_a_sync_generator() -> None:
    log: list[str] = []
    first_chunk_sent = trio.Event()

    def chunks() -> Iterator[bytes]:
        try:
            yield b"a"
            yield b"b"
        finally:
            log.append("finally")

    async def receive() -> Message:
        await first_chunk_sent.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        if message.get("body"):
            first_chunk_sent.set()
            await trio.sleep_forever()

    await StreamingResponse(chunks())(http_scope(), receive, send)
    assert log == ["finally"]


async def test_stream_behind_the_receive_pump_stops_on_disconnect() -> None:
    log: list[str] = []
    server_messages = [
        {"type": "http.request", "body": b"", "more_body": False},
    ]
    first_chunk_sent = trio.Event()

    async def server_receive() -> Message:
        if server_messages:
            return server_messages.pop(0)
        await first_chunk_sent.wait()
        return {"type": "http.disconnect"}

    async def server_send(message: Message) -> None:
        if message.get("body"):
            first_chunk_sent.set()

    async def forever() -> AsyncIterator[bytes]:
        try:
            while True:
                yield b"tick"
                await trio.sleep(0)
        finally:
            log.append("finally")

    await serve_request(
        StreamingResponse(forever()),
        http_scope(),
        server_receive,
        server_send,
        limits=RequestLimits(),
    )
    assert log == ["finally"]


async def test_stream_ignores_body_messages_while_watching_for_disconnect() -> None:
    messages = [{"type": "http.request", "body": b"late", "more_body": False}]

    async def receive() -> Message:
        if messages:
            return messages.pop()
        await trio.sleep_forever()
        raise AssertionError("unreachable")

    sent = await call(StreamingResponse(iter([b"x"])), receive=receive)
    assert sent.body == b"x"


async def test_error_in_stream_propagates_as_itself_not_as_a_group() -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"a"
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        await call(StreamingResponse(broken()))


def test_file_response_is_exported_from_responses() -> None:
    from trioapi._fileresponse import FileResponse as Private

    assert FileResponse is Private


def test_event_source_response_is_exported_from_responses() -> None:
    # FastAPI re-exports it from fastapi.responses; ported imports keep working.
    from trioapi.responses import EventSourceResponse
    from trioapi.sse import EventSourceResponse as FromSse

    assert EventSourceResponse is FromSse
