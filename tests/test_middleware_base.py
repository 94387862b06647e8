"""BaseHTTPMiddleware, and proof that Starlette's five known faults are absent."""

from __future__ import annotations

from contextvars import ContextVar

import pytest
import trio
from trio.testing import wait_all_tasks_blocked

from tests.middleware_support import Sent, body_receive, call, make_scope
from trioapi._scopes import RequestLimits
from trioapi._serve import serve_request
from trioapi.background import BackgroundTask
from trioapi.middleware.base import BaseHTTPMiddleware
from trioapi.middleware.exceptions import ExceptionMiddleware
from trioapi.requests import Request
from trioapi.responses import PlainTextResponse, StreamingResponse
from trioapi.types import Message, Receive, Scope, Send

START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", b"text/plain")],
}


async def passthrough(request, call_next):
    return await call_next(request)


async def text_endpoint(scope: Scope, receive: Receive, send: Send) -> None:
    await PlainTextResponse("Hello")(scope, receive, send)


# -- the basics -----------------------------------------------------------------------


async def test_passthrough_dispatch_forwards_the_response_in_starlettes_framing():
    sent = await call(BaseHTTPMiddleware(text_endpoint, dispatch=passthrough))

    assert sent.messages == [
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", b"5"), (b"content-type", b"text/plain; charset=utf-8")],
        },
        {"type": "http.response.body", "body": b"Hello", "more_body": True},
        {"type": "http.response.body", "body": b"", "more_body": False},
    ]


async def test_dispatch_can_edit_status_and_headers_after_call_next():
    async def dispatch(request, call_next):
        response = await call_next(request)
        response.headers["X-Process-Time"] = "0.5"
        response.status_code = 201
        return response

    sent = await call(BaseHTTPMiddleware(text_endpoint, dispatch=dispatch))

    assert (sent.status, sent.body) == (201, b"Hello")
    assert sent.headers["x-process-time"] == "0.5"


async def test_subclass_overrides_dispatch():
    class AddHeader(BaseHTTPMiddleware):
        async def dispatch(self, request, call_next):
            response = await call_next(request)
            response.headers["X-Path"] = request.url.path
            return response

    sent = await call(AddHeader(text_endpoint), path="/items")

    assert sent.headers["x-path"] == "/items"


async def test_dispatch_can_answer_without_calling_the_app():
    async def dispatch(request, call_next):
        return PlainTextResponse("blocked", status_code=403)

    sent = await call(BaseHTTPMiddleware(text_endpoint, dispatch=dispatch))

    assert (sent.status, sent.body) == (403, b"blocked")


async def test_request_body_is_read_by_the_middleware_and_again_by_the_endpoint():
    seen = []

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(("endpoint", await Request(scope, receive).body()))
        await PlainTextResponse("ok")(scope, receive, send)

    async def dispatch(request, call_next):
        seen.append(("middleware", await request.body()))
        return await call_next(request)

    app = BaseHTTPMiddleware(endpoint, dispatch=dispatch)
    await app(make_scope(method="POST"), body_receive(chunks=[b"pay", b"lo", b"ad"]), Sent())

    assert seen == [("middleware", b"payload"), ("endpoint", b"payload")]


async def test_endpoint_reads_the_body_the_middleware_did_not_touch():
    seen = []

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(await Request(scope, receive).body())
        await PlainTextResponse("ok")(scope, receive, send)

    app = BaseHTTPMiddleware(endpoint, dispatch=passthrough)
    await app(make_scope(method="POST"), body_receive(chunks=[b"a", b"b"]), Sent())

    assert seen == [b"ab"]


async def test_app_that_sends_no_response_is_an_error():
    async def silent(scope: Scope, receive: Receive, send: Send) -> None:
        return None

    with pytest.raises(RuntimeError, match="No response returned."):
        await call(BaseHTTPMiddleware(silent, dispatch=passthrough))


async def test_app_that_sends_a_body_before_starting_is_an_error():
    async def rude(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.body", "body": b"x"})

    with pytest.raises(RuntimeError, match="before 'http.response.start'"):
        await call(BaseHTTPMiddleware(rude, dispatch=passthrough))


async def test_dispatch_returning_none_is_explained():
    async def forgot_return(request, call_next):
        await call_next(request)

    with pytest.raises(TypeError, match=r"dispatch\(\) returned None instead of a response"):
        await call(BaseHTTPMiddleware(text_endpoint, dispatch=forgot_return))


async def test_missing_dispatch_is_explained():
    with pytest.raises(NotImplementedError, match="override dispatch"):
        await call(BaseHTTPMiddleware(text_endpoint))


async def test_websocket_and_lifespan_skip_dispatch():
    seen = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    async def dispatch(request, call_next):  # pragma: no cover - must not run
        raise AssertionError("dispatch ran")

    middleware = BaseHTTPMiddleware(app, dispatch=dispatch)
    await middleware({"type": "lifespan"}, None, None)
    await middleware(make_scope(scope_type="websocket"), None, None)

    assert seen == ["lifespan", "websocket"]


async def test_dispatch_can_rewrite_the_body_through_body_iterator():
    log = []

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        task = BackgroundTask(log.append, "background ran")
        await StreamingResponse(iter([b"ab", b"cd"]), background=task)(scope, receive, send)

    async def dispatch(request, call_next):
        response = await call_next(request)
        chunks = [chunk async for chunk in response.body_iterator]
        log.append(f"middleware read {chunks!r}")
        return PlainTextResponse(b"".join(chunks).upper())

    sent = await call(BaseHTTPMiddleware(endpoint, dispatch=dispatch))

    assert sent.body == b"ABCD"
    assert log == ["middleware read [b'ab', b'cd']", "background ran"]


async def test_dispatch_can_wrap_body_iterator_in_a_new_iterator():
    async def dispatch(request, call_next):
        response = await call_next(request)
        original = response.body_iterator

        async def shout():
            async for chunk in original:
                yield chunk.upper()

        response.body_iterator = shout()
        return response

    sent = await call(BaseHTTPMiddleware(text_endpoint, dispatch=dispatch))

    assert sent.body == b"HELLO"
    assert [m.get("more_body", False) for m in sent.body_messages] == [True, False]


# -- fault 1: streaming responses stream --------------------------------------------------


async def test_call_next_returns_when_the_response_starts_not_when_the_body_ends(autojump_clock):
    log = []
    body_may_start = trio.Event()

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        await send(START)
        log.append("endpoint: started")
        await body_may_start.wait()
        log.append("endpoint: sending body")
        await send({"type": "http.response.body", "body": b"late"})

    async def dispatch(request, call_next):
        response = await call_next(request)
        log.append("middleware: call_next returned")
        body_may_start.set()
        return response

    with trio.fail_after(10):  # call_next waiting for the body would deadlock
        sent = await call(BaseHTTPMiddleware(endpoint, dispatch=dispatch))

    assert log.index("middleware: call_next returned") < log.index("endpoint: sending body")
    assert sent.body == b"late"


async def test_streaming_body_flows_chunk_by_chunk_with_back_pressure():
    produced = []

    async def numbers():
        for number in range(50):
            produced.append(number)
            yield f"{number},"

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        await StreamingResponse(numbers())(scope, receive, send)

    to_client, from_app = trio.open_memory_channel[Message](0)
    app = BaseHTTPMiddleware(endpoint, dispatch=passthrough)
    received = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(app, make_scope(), body_receive(), to_client.send)
        assert (await from_app.receive())["type"] == "http.response.start"
        for _ in range(5):
            await wait_all_tasks_blocked()
            # One chunk waits in the middleware, one in the endpoint's send(): no more.
            assert len(produced) <= len(received) + 2
            received.append((await from_app.receive())["body"])
        async for message in from_app:
            received.append(message["body"])
            if not message.get("more_body", False):
                break

    assert b"".join(received) == "".join(f"{n}," for n in range(50)).encode()
    assert received[:3] == [b"0,", b"1,", b"2,"]


# -- fault 2: context variables cross call_next both ways ---------------------------------

request_id: ContextVar[str] = ContextVar("request_id")
user: ContextVar[str] = ContextVar("user")


async def test_context_variables_reach_the_endpoint_and_come_back():
    seen = []

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(("endpoint sees request_id", request_id.get()))
        user.set("alice")
        request_id.set(request_id.get() + "-endpoint")
        await PlainTextResponse("ok")(scope, receive, send)

    async def dispatch(request, call_next):
        request_id.set("req-1")
        response = await call_next(request)
        seen.append(("middleware sees user", user.get("unset")))
        seen.append(("middleware sees request_id", request_id.get()))
        return response

    async def run_in_fresh_context() -> None:
        await call(BaseHTTPMiddleware(endpoint, dispatch=dispatch))

    async with trio.open_nursery() as nursery:  # a task of its own, so nothing leaks into the test
        nursery.start_soon(run_in_fresh_context)

    assert seen == [
        ("endpoint sees request_id", "req-1"),
        ("middleware sees user", "alice"),
        ("middleware sees request_id", "req-1-endpoint"),
    ]


async def test_nested_middlewares_pass_context_variables_both_ways():
    seen = []

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(("endpoint", request_id.get()))
        user.set("bob")
        await PlainTextResponse("ok")(scope, receive, send)

    async def outer(request, call_next):
        request_id.set("outer")
        response = await call_next(request)
        seen.append(("outer", user.get("unset")))
        return response

    inner_app = BaseHTTPMiddleware(endpoint, dispatch=passthrough)
    app = BaseHTTPMiddleware(inner_app, dispatch=outer)

    async def run() -> None:
        await call(app)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(run)

    assert seen == [("endpoint", "outer"), ("outer", "bob")]


# -- fault 3: background tasks run, after the body ----------------------------------------


async def test_background_task_runs_after_the_body_is_sent_and_before_the_call_returns():
    log = []

    async def background() -> None:
        await trio.lowlevel.checkpoint()
        log.append("background: ran")

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        await PlainTextResponse("ok", background=BackgroundTask(background))(scope, receive, send)

    async def send(message: Message) -> None:
        await trio.lowlevel.checkpoint()
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            log.append("client: body complete")

    await BaseHTTPMiddleware(endpoint, dispatch=passthrough)(make_scope(), body_receive(), send)
    log.append("middleware: returned")

    assert log == ["client: body complete", "background: ran", "middleware: returned"]


async def test_background_task_runs_when_dispatch_replaces_the_response_after_reading_it():
    log = []

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        task = BackgroundTask(log.append, "background: ran")
        await PlainTextResponse("ok", background=task)(scope, receive, send)

    async def dispatch(request, call_next):
        response = await call_next(request)
        body = b"".join([chunk async for chunk in response.body_iterator])
        return PlainTextResponse(body + b"!")

    sent = await call(BaseHTTPMiddleware(endpoint, dispatch=dispatch))

    assert sent.body == b"ok!"
    assert log == ["background: ran"]


async def test_error_in_a_background_task_is_raised_after_the_response():
    async def failing_background() -> None:
        raise OSError("mail server down")

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        await PlainTextResponse("ok", background=BackgroundTask(failing_background))(
            scope, receive, send
        )

    sent = Sent()
    with pytest.raises(OSError, match="mail server down"):
        await BaseHTTPMiddleware(endpoint, dispatch=passthrough)(make_scope(), body_receive(), sent)

    assert sent.body == b"ok"


# -- fault 4: cancellation reaches the app ------------------------------------------------


async def test_cancelling_the_middleware_cancels_the_app_before_it_returns(autojump_clock):
    log = []

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        log.append("endpoint: started")
        try:
            await trio.sleep_forever()
        finally:
            log.append("endpoint: cleaned up")

    with trio.move_on_after(5):
        await BaseHTTPMiddleware(endpoint, dispatch=passthrough)(
            make_scope(), body_receive(), Sent()
        )
    log.append("caller: middleware returned")

    assert log == ["endpoint: started", "endpoint: cleaned up", "caller: middleware returned"]


async def test_client_disconnect_cancels_the_streaming_app_through_the_core(autojump_clock):
    log = []
    disconnect = trio.Event()

    async def forever():
        try:
            for number in range(1_000_000):
                yield f"{number}\n"
                await trio.sleep(1)
        finally:
            log.append("endpoint: stream closed")

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        await StreamingResponse(forever())(scope, receive, send)

    async def client_send(message: Message) -> None:
        if message.get("body") == b"2\n":
            log.append("client: leaving")
            disconnect.set()

    app = BaseHTTPMiddleware(endpoint, dispatch=passthrough)
    with trio.fail_after(60):
        await serve_request(
            app,
            make_scope(),
            body_receive(disconnect=disconnect),
            client_send,
            limits=RequestLimits(),
        )
    log.append("server: request done")

    assert log == ["client: leaving", "endpoint: stream closed", "server: request done"]


async def test_unread_response_is_cancelled_when_dispatch_answers_otherwise(autojump_clock):
    log = []

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        await send(START)
        try:
            await send({"type": "http.response.body", "body": b"never read", "more_body": True})
            log.append("endpoint: body taken")  # pragma: no cover - must not happen
        finally:
            log.append("endpoint: stopped")

    async def dispatch(request, call_next):
        await call_next(request)
        return PlainTextResponse("replacement")

    with trio.fail_after(10):
        sent = await call(BaseHTTPMiddleware(endpoint, dispatch=dispatch))

    assert sent.body == b"replacement"
    assert log == ["endpoint: stopped"]


async def test_error_in_dispatch_after_call_next_cancels_the_app(autojump_clock):
    log = []

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        await send(START)
        try:
            await trio.sleep_forever()
        finally:
            log.append("endpoint: cancelled")

    async def dispatch(request, call_next):
        await call_next(request)
        raise LookupError("dispatch failed")

    with pytest.raises(LookupError, match="dispatch failed") as info:
        await call(BaseHTTPMiddleware(endpoint, dispatch=dispatch))

    assert type(info.value) is LookupError
    assert log == ["endpoint: cancelled"]


# -- fault 5: exceptions come out of call_next as themselves ------------------------------


async def test_exception_from_the_app_comes_out_of_call_next_as_itself():
    error = ValueError("from the endpoint")
    caught = []

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        raise error

    async def dispatch(request, call_next):
        try:
            return await call_next(request)
        except ValueError as exc:
            caught.append(exc)
            return PlainTextResponse("recovered", status_code=500)

    sent = await call(BaseHTTPMiddleware(endpoint, dispatch=dispatch))

    assert caught == [error]
    assert caught[0] is error
    assert (sent.status, sent.body) == (500, b"recovered")


async def test_exception_from_a_child_task_of_the_app_is_not_wrapped_in_a_group():
    async def fail() -> None:
        raise KeyError("in a nursery")

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(fail)

    with pytest.raises(KeyError) as info:
        await call(BaseHTTPMiddleware(endpoint, dispatch=passthrough))

    assert type(info.value) is KeyError
    assert info.value.args == ("in a nursery",)


async def test_app_exception_handlers_outside_see_the_original_type():
    seen = []

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        raise ValueError("original")

    async def handler(request, exc):
        seen.append(type(exc))
        return PlainTextResponse("handled", status_code=418)

    inner = BaseHTTPMiddleware(endpoint, dispatch=passthrough)
    sent = await call(ExceptionMiddleware(inner, handlers={ValueError: handler}))

    assert seen == [ValueError]
    assert (sent.status, sent.body) == (418, b"handled")


async def test_exception_while_streaming_the_body_comes_out_as_itself():
    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        await send(START)
        await send({"type": "http.response.body", "body": b"partial", "more_body": True})
        raise ConnectionError("upstream died")

    sent = Sent()
    with pytest.raises(ConnectionError, match="upstream died"):
        await BaseHTTPMiddleware(endpoint, dispatch=passthrough)(make_scope(), body_receive(), sent)

    assert sent.body == b"partial"


async def test_client_disconnect_before_the_response_cancels_the_app_through_the_core(
    autojump_clock,
):
    log = []
    disconnect = trio.Event()

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        log.append("endpoint: working")
        disconnect.set()
        try:
            await trio.sleep_forever()
        finally:
            log.append("endpoint: cancelled")

    async def dispatch(request, call_next):
        try:
            return await call_next(request)
        finally:
            log.append("middleware: call_next ended")

    sent = Sent()
    app = BaseHTTPMiddleware(endpoint, dispatch=dispatch)
    with trio.fail_after(60):
        await serve_request(
            app, make_scope(), body_receive(disconnect=disconnect), sent, limits=RequestLimits()
        )
    log.append("server: request done")

    # Both tasks are cancelled at once, so their two lines come in either order.
    assert log[0] == "endpoint: working"
    assert sorted(log[1:3]) == ["endpoint: cancelled", "middleware: call_next ended"]
    assert log[3:] == ["server: request done"]
    assert sent.messages == []


async def test_early_hints_and_debug_info_pass_through_base_http_middleware():
    from trioapi.middleware.base import BaseHTTPMiddleware
    from trioapi.requests import Request

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await Request(scope, receive, send).send_early_hints("</app.css>; rel=preload")
        await send({"type": "http.response.debug", "info": {"template": "x.html"}})
        await PlainTextResponse("hello")(scope, receive, send)

    async def dispatch(request, call_next):
        await request.send_early_hints("</mw.css>; rel=preload")
        return await call_next(request)

    scope = make_scope()
    scope["extensions"] = {"http.response.early_hint": {}}
    sent = await call(BaseHTTPMiddleware(app, dispatch=dispatch), scope)

    assert [m["type"] for m in sent.messages] == [
        "http.response.early_hint",
        "http.response.early_hint",
        "http.response.debug",
        "http.response.start",
        "http.response.body",
        "http.response.body",
    ]
    assert sent.messages[0]["links"] == [b"</mw.css>; rel=preload"]
