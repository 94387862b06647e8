from __future__ import annotations

import threading

import pytest
import trio

from tests.middleware_support import Sent, body_receive, call, make_scope
from trioapi.exceptions import HTTPException, TrioAPIError, WebSocketException
from trioapi.middleware.exceptions import HANDLERS_KEY, ExceptionMiddleware
from trioapi.responses import PlainTextResponse
from trioapi.types import Receive, Scope, Send


def raising(exc: BaseException):
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise exc

    return app


def answer(text: str, seen: list | None = None, status: int = 200):
    async def handler(request, exc):
        if seen is not None:
            seen.append(exc)
        return PlainTextResponse(text, status_code=status)

    return handler


async def test_http_exception_gets_its_detail_as_plain_text_with_its_status_and_headers():
    app = ExceptionMiddleware(
        raising(HTTPException(418, "short and stout", {"X-Tea": "earl grey"}))
    )

    sent = await call(app)

    assert sent.status == 418
    assert sent.body == b"short and stout"
    assert sent.raw_headers == [
        ("x-tea", "earl grey"),
        ("content-length", "15"),
        ("content-type", "text/plain; charset=utf-8"),
    ]


async def test_a_handled_exception_raised_again_does_not_keep_old_tracebacks():
    shared = HTTPException(401, "Unauthorized")
    app = ExceptionMiddleware(raising(shared))

    first = await call(app)
    second = await call(app)

    assert (first.status, second.status) == (401, 401)
    assert shared.__traceback__ is None


async def test_http_exception_default_detail_is_the_status_phrase():
    sent = await call(ExceptionMiddleware(raising(HTTPException(404))))

    assert (sent.status, sent.body) == (404, b"Not Found")


@pytest.mark.parametrize("status", [204, 304])
async def test_http_exception_without_body_status_sends_no_body(status):
    sent = await call(ExceptionMiddleware(raising(HTTPException(status))))

    assert (sent.status, sent.body) == (status, b"")
    assert "content-length" not in sent.headers


async def test_status_handler_wins_over_the_class_handler():
    app = ExceptionMiddleware(
        raising(HTTPException(404)),
        handlers={404: answer("no such thing", status=404), HTTPException: answer("generic")},
    )

    sent = await call(app)

    assert (sent.status, sent.body) == (404, b"no such thing")


async def test_status_handler_applies_only_to_its_status():
    app = ExceptionMiddleware(raising(HTTPException(403)), handlers={404: answer("nope")})

    sent = await call(app)

    assert (sent.status, sent.body) == (403, b"Forbidden")


async def test_handler_is_found_through_the_mro():
    seen: list = []
    error = KeyError("k")
    app = ExceptionMiddleware(raising(error), handlers={LookupError: answer("lookup", seen)})

    sent = await call(app)

    assert sent.body == b"lookup"
    assert seen == [error]


async def test_the_nearest_class_in_the_mro_wins():
    app = ExceptionMiddleware(
        raising(KeyError("k")),
        handlers={
            Exception: answer("exception"),
            LookupError: answer("lookup"),
            KeyError: answer("key"),
        },
    )

    sent = await call(app)

    assert sent.body == b"key"


async def test_subclass_of_http_exception_uses_the_http_exception_handler():
    class Gone(HTTPException):
        pass

    sent = await call(ExceptionMiddleware(raising(Gone(410))))

    assert (sent.status, sent.body) == (410, b"Gone")


async def test_sync_handler_runs_in_a_worker_thread():
    threads = []

    def handler(request, exc):
        threads.append(threading.current_thread())
        return PlainTextResponse(f"sync {request.url.path}", status_code=400)

    app = ExceptionMiddleware(raising(ValueError()), handlers={ValueError: handler})

    sent = await call(app, path="/p")

    assert (sent.status, sent.body) == (400, b"sync /p")
    assert threads and threads[0] is not threading.main_thread()


async def test_unhandled_exception_propagates_unchanged():
    error = ValueError("nobody handles me")

    with pytest.raises(ValueError, match="nobody handles me") as info:
        await call(ExceptionMiddleware(raising(error)))

    assert info.value is error


async def test_handled_exception_after_the_response_started_is_a_runtime_error():
    error = HTTPException(400)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise error

    with pytest.raises(
        RuntimeError, match="Caught handled exception, but response already started."
    ) as info:
        await call(ExceptionMiddleware(app))

    assert info.value.__cause__ is error


async def test_one_error_in_nested_groups_reaches_the_handler_as_itself():
    seen: list = []
    error = ValueError("leaf")
    group = ExceptionGroup("outer", [ExceptionGroup("inner", [error])])
    app = ExceptionMiddleware(raising(group), handlers={ValueError: answer("leaf handled", seen)})

    sent = await call(app)

    assert sent.body == b"leaf handled"
    assert seen == [error]


async def test_http_exception_raised_in_a_child_task_keeps_its_status():
    async def fail() -> None:
        raise HTTPException(409, "conflict")

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(fail)

    sent = await call(ExceptionMiddleware(app))

    assert (sent.status, sent.body) == (409, b"conflict")


async def test_an_unhandled_group_of_the_apps_own_propagates_as_that_group():
    # As in FastAPI: only the levels trioapi's own nurseries add come off.
    group = ExceptionGroup("g", [KeyError("leaf")])

    with pytest.raises(ExceptionGroup) as info:
        await call(ExceptionMiddleware(raising(group)))

    assert info.value is group


async def test_group_of_several_errors_goes_to_the_group_handler():
    seen: list = []
    group = ExceptionGroup("two", [ValueError("a"), KeyError("b")])
    app = ExceptionMiddleware(
        raising(group),
        handlers={ValueError: answer("value"), ExceptionGroup: answer("group", seen)},
    )

    sent = await call(app)

    assert sent.body == b"group"
    assert seen == [group]


async def test_base_exception_group_handler_also_catches_several_errors():
    group = ExceptionGroup("two", [ValueError("a"), KeyError("b")])
    app = ExceptionMiddleware(raising(group), handlers={BaseExceptionGroup: answer("base group")})

    sent = await call(app)

    assert sent.body == b"base group"


async def test_group_of_several_errors_skips_a_plain_exception_handler_and_propagates():
    group = ExceptionGroup("two", [ValueError("a"), KeyError("b")])
    app = ExceptionMiddleware(raising(group), handlers={Exception: answer("exception")})

    with pytest.raises(ExceptionGroup) as info:
        await call(app)

    assert info.value is group


async def test_add_exception_handler_after_construction():
    app = ExceptionMiddleware(raising(ZeroDivisionError()))
    app.add_exception_handler(ArithmeticError, answer("math", status=422))

    sent = await call(app)

    assert (sent.status, sent.body) == (422, b"math")


@pytest.mark.parametrize("key", ["404", object, 4.04])
def test_registering_for_something_else_is_a_configuration_error(key):
    app = ExceptionMiddleware(raising(ValueError()))

    with pytest.raises(TrioAPIError, match="neither a status code nor an exception class"):
        app.add_exception_handler(key, answer("x"))


async def test_handler_returning_none_sends_nothing():
    async def handler(request, exc):
        return None

    sent = await call(ExceptionMiddleware(raising(ValueError()), handlers={ValueError: handler}))

    assert sent.messages == []


async def test_handlers_are_left_in_the_scope_for_inner_layers():
    scopes = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        scopes.append(scope)
        await PlainTextResponse("ok")(scope, receive, send)

    handler = answer("v")
    middleware = ExceptionMiddleware(app, handlers={ValueError: handler, 400: handler})
    await call(middleware)

    exception_handlers, status_handlers = scopes[0][HANDLERS_KEY]
    assert exception_handlers[ValueError] is handler
    assert status_handlers == {400: handler}


async def test_websocket_exception_closes_the_socket_with_its_code_and_reason():
    sent = Sent()
    scope = make_scope(scope_type="websocket", scheme="ws")

    await ExceptionMiddleware(raising(WebSocketException(1008, "policy")))(
        scope, body_receive(), sent
    )

    assert sent.messages == [{"type": "websocket.close", "code": 1008, "reason": "policy"}]


async def test_lifespan_passes_through():
    with pytest.raises(ValueError, match="lifespan"):
        await ExceptionMiddleware(raising(ValueError("lifespan")))({"type": "lifespan"}, None, None)


async def test_http_exception_with_a_non_standard_status_has_an_empty_detail():
    error = HTTPException(499)

    sent = await call(ExceptionMiddleware(raising(error)))

    assert error.detail == ""
    assert (sent.status, sent.body) == (499, b"")
