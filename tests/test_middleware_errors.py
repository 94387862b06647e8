from __future__ import annotations

import threading

import pytest
import trio

from tests.middleware_support import Sent, body_receive, make_scope
from trioapi._exception_groups import open_scope_nursery
from trioapi.middleware.errors import ServerErrorMiddleware
from trioapi.responses import JSONResponse, PlainTextResponse
from trioapi.types import Receive, Scope, Send


async def failing_app(scope: Scope, receive: Receive, send: Send) -> None:
    raise ValueError("boom <b>")


async def call_expecting(error_type, app, **scope_options) -> tuple[Sent, BaseException]:
    sent = Sent()
    with pytest.raises(error_type) as info:
        await app(make_scope(**scope_options), body_receive(), sent)
    return sent, info.value


async def test_production_answers_plain_500_and_reraises():
    sent, error = await call_expecting(ValueError, ServerErrorMiddleware(failing_app))

    assert str(error) == "boom <b>"
    assert sent.status == 500
    assert sent.body == b"Internal Server Error"
    assert sent.raw_headers == [
        ("content-length", "21"),
        ("content-type", "text/plain; charset=utf-8"),
    ]


async def test_debug_answers_plain_text_traceback_by_default():
    app = ServerErrorMiddleware(failing_app, debug=True)

    sent, _ = await call_expecting(ValueError, app, headers=[("accept", "application/json")])

    text = sent.body.decode()
    assert sent.status == 500
    assert sent.headers["content-type"] == "text/plain; charset=utf-8"
    assert text.startswith("Traceback (most recent call last):\n")
    assert 'raise ValueError("boom <b>")' in text
    assert text.endswith("ValueError: boom <b>\n")


async def test_debug_answers_an_escaped_html_page_to_a_browser():
    app = ServerErrorMiddleware(failing_app, debug=True)

    sent, _ = await call_expecting(ValueError, app, headers=[("accept", "text/html,*/*")])

    page = sent.body.decode()
    assert sent.status == 500
    assert sent.headers["content-type"] == "text/html; charset=utf-8"
    assert page.startswith("<!DOCTYPE html>")
    assert "<h2>ValueError: boom &lt;b&gt;</h2>" in page
    assert "in <b>failing_app</b>" in page
    assert "raise ValueError(&quot;boom &lt;b&gt;&quot;)" in page
    assert '<b>")' not in page


async def test_async_handler_makes_the_response():
    seen = []

    async def handler(request, exc):
        seen.append((request.url.path, type(exc), str(exc)))
        return JSONResponse({"error": "custom"}, status_code=500)

    sent, _ = await call_expecting(
        ValueError, ServerErrorMiddleware(failing_app, handler), path="/x"
    )

    assert seen == [("/x", ValueError, "boom <b>")]
    assert (sent.status, sent.body) == (500, b'{"error":"custom"}')


async def test_sync_handler_runs_in_a_worker_thread():
    threads = []

    def handler(request, exc):
        threads.append(threading.current_thread())
        return PlainTextResponse("sync handler", status_code=503)

    sent, _ = await call_expecting(ValueError, ServerErrorMiddleware(failing_app, handler))

    assert (sent.status, sent.body) == (503, b"sync handler")
    assert threads and threads[0] is not threading.main_thread()


async def test_debug_wins_over_the_handler():
    async def handler(request, exc):
        return PlainTextResponse("handler", status_code=500)

    app = ServerErrorMiddleware(failing_app, handler, debug=True)

    sent, _ = await call_expecting(ValueError, app)

    assert sent.body.startswith(b"Traceback")


async def test_error_after_the_response_started_sends_nothing_more_and_reraises():
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"part", "more_body": True})
        raise RuntimeError("mid-stream")

    sent, error = await call_expecting(RuntimeError, ServerErrorMiddleware(app))

    assert str(error) == "mid-stream"
    assert sent.messages == [
        {"type": "http.response.start", "status": 200, "headers": []},
        {"type": "http.response.body", "body": b"part", "more_body": True},
    ]


async def test_the_handler_sees_the_error_of_a_group_of_one_and_the_group_goes_on():
    original = KeyError("inner")
    group = ExceptionGroup("outer", [ExceptionGroup("nested", [original])])
    seen = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise group

    async def handler(request, exc):
        seen.append(exc)
        return PlainTextResponse("handled", status_code=500)

    sent, error = await call_expecting(ExceptionGroup, ServerErrorMiddleware(app, handler))

    assert error is group  # re-raised as the app raised it, as in FastAPI
    assert seen == [original]
    assert sent.body == b"handled"


async def test_a_group_from_the_apps_own_nursery_goes_on_as_that_group():
    error = ValueError("in a child task")

    async def fail() -> None:
        raise error

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(fail)

    with pytest.RaisesGroup(ValueError) as info:
        await ServerErrorMiddleware(app)(make_scope(), body_receive(), sent := Sent())
    assert info.value.exceptions == (error,)
    assert sent.status == 500


async def test_the_level_of_trioapis_own_nursery_comes_off():
    error = ValueError("in a child task")

    async def fail() -> None:
        raise error

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        async with open_scope_nursery(collapse=False) as nursery:  # as the request nursery
            nursery.start_soon(fail)

    sent, raised = await call_expecting(ValueError, ServerErrorMiddleware(app))

    assert raised is error
    assert sent.status == 500


async def test_group_of_several_errors_gets_500_and_is_reraised_whole():
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise ExceptionGroup("two", [ValueError("a"), KeyError("b")])

    sent, error = await call_expecting(ExceptionGroup, ServerErrorMiddleware(app))

    assert [type(e) for e in error.exceptions] == [ValueError, KeyError]
    assert (sent.status, sent.body) == (500, b"Internal Server Error")


async def test_successful_response_passes_through():
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await PlainTextResponse("fine")(scope, receive, send)

    sent = Sent()
    await ServerErrorMiddleware(app)(make_scope(), body_receive(), sent)

    assert (sent.status, sent.body) == (200, b"fine")


async def test_websocket_errors_are_not_answered_here():
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise ValueError("ws")

    sent = Sent()
    with pytest.raises(ValueError, match="ws"):
        await ServerErrorMiddleware(app)(make_scope(scope_type="websocket"), body_receive(), sent)

    assert sent.messages == []


async def test_cancellation_is_not_treated_as_an_error(autojump_clock):
    sent = Sent()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await trio.sleep_forever()

    with trio.move_on_after(1) as cancel_scope:
        await ServerErrorMiddleware(app)(make_scope(), body_receive(), sent)

    assert cancel_scope.cancelled_caught
    assert sent.messages == []
