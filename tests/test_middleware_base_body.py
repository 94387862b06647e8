"""BaseHTTPMiddleware: one request body shared by ``dispatch`` and the app, as Starlette shares it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing

import pytest
import trio

from tests.middleware_support import Sent, body_receive, make_scope
from trioapi.background import BackgroundTask
from trioapi.middleware.base import BaseHTTPMiddleware
from trioapi.requests import Request
from trioapi.responses import PlainTextResponse, Response
from trioapi.types import Message, Receive, Scope, Send

DISCONNECT = {"type": "http.disconnect"}


async def passthrough(request, call_next):
    return await call_next(request)


def scripted_receive(*messages: Message):
    """A ``receive`` giving ``messages`` in turn; one call more is a test failure."""
    queue = list(messages)

    async def receive() -> Message:
        await trio.lowlevel.checkpoint()
        assert queue, "receive() called after the last scripted message"
        return queue.pop(0)

    return receive


def chunk(body: bytes, more: bool = True) -> Message:
    return {"type": "http.request", "body": body, "more_body": more}


def body_endpoint(seen: list[object]):
    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(await Request(scope, receive).body())
        await PlainTextResponse("ok")(scope, receive, send)

    return endpoint


async def test_a_stream_read_to_its_end_in_dispatch_leaves_the_app_an_empty_body():
    seen: list[object] = []

    async def dispatch(request, call_next):
        seen.append([piece async for piece in request.stream()])
        return await call_next(request)

    app = BaseHTTPMiddleware(body_endpoint(seen), dispatch=dispatch)
    sent = Sent()
    await app(make_scope(method="POST"), body_receive(chunks=[b"a", b"b"]), sent)

    assert seen == [[b"a", b"b", b""], b""]
    assert sent.body == b"ok"


async def test_dispatch_cannot_read_a_body_the_app_consumed():
    seen: list[object] = []

    async def dispatch(request, call_next):
        response = await call_next(request)
        for read in (request.body, lambda: anext(aiter(request.stream()))):
            with pytest.raises(RuntimeError, match="Stream consumed"):
                await read()
        return response

    app = BaseHTTPMiddleware(body_endpoint(seen), dispatch=dispatch)
    await app(make_scope(method="POST"), body_receive(b"payload"), Sent())

    assert seen == [b"payload"]


async def test_a_partly_read_stream_is_shared_chunk_by_chunk():
    seen: list[tuple[str, bytes]] = []

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        async with aclosing(Request(scope, receive).stream()) as stream:
            async for piece in stream:
                seen.append(("app", piece))
                break
        await Response()(scope, receive, send)

    async def dispatch(request, call_next):
        response = None
        async with aclosing(request.stream()) as stream:
            async for piece in stream:
                seen.append(("dispatch", piece))
                if response is None:
                    response = await call_next(request)
                else:
                    break
        return response

    receive = scripted_receive(chunk(b"1"), chunk(b"2"), chunk(b"3", more=False))
    sent = Sent()
    await BaseHTTPMiddleware(endpoint, dispatch=dispatch)(make_scope(), receive, sent)

    assert seen == [("dispatch", b"1"), ("app", b"2"), ("dispatch", b"3")]
    assert (sent.status, sent.body) == (200, b"")


async def test_the_app_sees_what_a_middleware_below_changed_after_dispatch_read_the_body():
    seen: list[object] = []

    def doubling(app):
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            async def doubled() -> Message:
                message = await receive()
                if message["type"] == "http.request":
                    message["body"] *= 2
                return message

            await app(scope, doubled, send)

        return wrapped

    async def dispatch(request, call_next):
        seen.append(await request.body())
        return await call_next(request)

    app = BaseHTTPMiddleware(doubling(body_endpoint(seen)), dispatch=dispatch)
    await app(make_scope(method="POST"), body_receive(b"foo "), Sent())

    assert seen == [b"foo ", b"foo foo "]


@pytest.mark.parametrize("with_body", [True, False])
async def test_after_one_disconnect_the_app_gets_disconnects_without_asking_the_server(
    with_body,
):
    received: list[str] = []

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        for _ in range(3):
            received.append((await receive())["type"])
        await PlainTextResponse("good!")(scope, receive, send)

    body = [chunk(b"hello"), chunk(b"", more=False)] if with_body else []
    sent = Sent()
    app = BaseHTTPMiddleware(endpoint, dispatch=passthrough)
    await app(make_scope(), scripted_receive(*body, DISCONNECT), sent)

    expected = ["http.request", "http.request"] if with_body else []
    assert received[: len(expected)] == expected
    assert set(received[len(expected) :]) == {"http.disconnect"}
    assert sent.body == b"good!"


async def test_a_disconnect_the_app_received_marks_the_dispatch_request_disconnected():
    answers: list[bool] = []

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        assert (await receive())["type"] == "http.disconnect"
        await Response()(scope, receive, send)

    async def dispatch(request, call_next):
        response = await call_next(request)
        answers.append(await request.is_disconnected())
        return response

    app = BaseHTTPMiddleware(endpoint, dispatch=dispatch)
    await app(make_scope(method="POST"), scripted_receive(DISCONNECT), Sent())

    assert answers == [True]


async def test_closing_body_iterator_and_answering_otherwise_ends_the_app(autojump_clock):
    log: list[str] = []

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        try:
            while True:
                await send({"type": "http.response.body", "body": b"chunk ", "more_body": True})
        except trio.Cancelled:
            log.append("app cancelled")
            raise

    async def dispatch(request, call_next):
        response = await call_next(request)
        body: AsyncIterator[bytes] = response.body_iterator
        log.append((await anext(body)).decode())
        await body.aclose()  # type: ignore[attr-defined]
        assert [piece async for piece in body] == []
        return PlainTextResponse("Custom")

    sent = Sent()
    with trio.fail_after(5):
        await BaseHTTPMiddleware(endpoint, dispatch=dispatch)(make_scope(), body_receive(), sent)

    assert sent.body == b"Custom"
    assert log == ["chunk ", "app cancelled"]


async def test_receive_in_a_background_task_gets_a_disconnect_once_the_response_is_sent():
    received: list[str] = []

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        async def after() -> None:
            received.append((await receive())["type"])

        await PlainTextResponse("ok", background=BackgroundTask(after))(scope, receive, send)

    sent = Sent()
    app = BaseHTTPMiddleware(endpoint, dispatch=passthrough)
    # The request body is complete, and this client never leaves.
    await app(make_scope(), body_receive(), sent)

    assert sent.body == b"ok"
    assert received == ["http.disconnect"]


def raise_plain() -> None:
    raise ValueError("Exception")


def raise_in_except() -> None:
    try:
        raise KeyError("Inner exception")
    except KeyError:
        raise ValueError("Outer exception")  # noqa: B904 - the implicit context is the point


def raise_from() -> None:
    try:
        raise KeyError("Inner exception")
    except KeyError as exc:
        raise ValueError("Outer exception") from exc


@pytest.mark.parametrize("raiser", [raise_plain, raise_in_except, raise_from])
async def test_an_app_error_keeps_its_own_context_out_of_call_next(raiser):
    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        raiser()

    with pytest.raises(ValueError) as caught:
        await BaseHTTPMiddleware(endpoint, dispatch=passthrough)(
            make_scope(), body_receive(), Sent()
        )

    error = caught.value
    if raiser is raise_plain:
        # The context is the middleware's own plumbing, and hidden.
        assert error.__cause__ is None
        assert error.__suppress_context__ is True
    else:
        # The app's implicit context becomes the explicit cause.
        assert isinstance(error.__cause__, KeyError)
        assert error.__cause__.args == ("Inner exception",)
