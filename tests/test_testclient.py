"""The blocking TestClient and the async AsyncTestClient, over plain ASGI apps."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import aclosing, asynccontextmanager

import pytest
import trio

from trioapi import Depends, TrioAPI, WebSocket
from trioapi._lifespan import serve_lifespan
from trioapi._testing.lifespan import LifespanError
from trioapi.testclient import TestClient
from trioapi.testing import AsyncTestClient


async def echo_app(scope, receive, send):
    if scope["type"] == "lifespan":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    payload = f"{scope['method']} {scope['path']} {scope['query_string'].decode()} {body.decode()}"
    headers = [(b"content-type", b"text/plain"), (b"set-cookie", b"seen=1; Path=/")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": payload.encode()})


def test_sync_client_sends_method_path_query_and_body():
    client = TestClient(echo_app)
    response = client.post("/items/a%20b?x=1", content=b"hello")
    assert response.status_code == 200
    assert response.text == "POST /items/a b x=1 hello"
    assert client.cookies["seen"] == "1"
    client.close()


def test_sync_client_reraises_app_errors_unless_told_not_to():
    async def broken(scope, receive, send):
        raise ValueError("app failed")

    with pytest.raises(ValueError, match="app failed"):
        TestClient(broken).get("/")
    response = TestClient(broken, raise_server_exceptions=False).get("/")
    assert response.status_code == 500


def make_lifespan_app(events: list[str]):
    @asynccontextmanager
    async def lifespan(app):
        events.append("startup")
        yield {"db": "connected"}
        events.append("shutdown")

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            await serve_lifespan(app, scope, receive, send, lifespan, lambda nursery: None)
            return
        body = scope["state"]["db"].encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    return app


def test_with_block_runs_lifespan_and_shares_state():
    events: list[str] = []
    app = make_lifespan_app(events)
    with TestClient(app) as client:
        assert events == ["startup"]
        assert client.get("/").text == "connected"
    assert events == ["startup", "shutdown"]


def test_client_keeps_working_after_its_with_block():
    # As Starlette's: leaving the block shuts the lifespan down but does not
    # close the client, so a test may keep sending requests without lifespan.
    with TestClient(echo_app) as client:
        assert client.get("/a").text == "GET /a  "
    assert client.get("/b").text == "GET /b  "
    assert client.get("/c").status_code == 200
    client.close()


def test_failed_startup_is_raised():
    @asynccontextmanager
    async def lifespan(app):
        raise RuntimeError("no database")
        yield

    async def app(scope, receive, send):
        await serve_lifespan(app, scope, receive, send, lifespan, lambda nursery: None)

    with pytest.raises((RuntimeError, LifespanError), match="no database"):
        with TestClient(app):
            pass


async def stream_app(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": []})
    for i in range(3):
        await send({"type": "http.response.body", "body": f"chunk{i};".encode(), "more_body": True})
    await send({"type": "http.response.body", "body": b""})


def test_sync_client_streams_the_body():
    with TestClient(stream_app) as client, client.stream("GET", "/") as response:
        assert list(response.iter_bytes()) == [b"chunk0;", b"chunk1;", b"chunk2;"]


async def test_async_client_with_lifespan():
    events: list[str] = []
    async with AsyncTestClient(make_lifespan_app(events)) as client:
        response = await client.get("/")
        assert response.text == "connected"
    assert events == ["startup", "shutdown"]


async def test_async_client_streams_and_closing_disconnects():
    seen = []

    async def endless(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        async with trio.open_nursery() as nursery:

            async def watch():
                while (await receive())["type"] != "http.disconnect":
                    pass
                seen.append("http.disconnect")
                nursery.cancel_scope.cancel()

            nursery.start_soon(watch)
            while True:
                await send({"type": "http.response.body", "body": b"tick", "more_body": True})
                await trio.sleep(0.001)

    async with AsyncTestClient(endless, lifespan=False) as client:
        async with client.stream("GET", "/") as response:
            chunks = []
            async with aclosing(response.aiter_bytes()) as stream:
                async for chunk in stream:
                    chunks.append(chunk)
                    if len(chunks) == 3:
                        break
        with trio.fail_after(5):
            while not seen:
                await trio.sleep(0.001)
    assert seen == ["http.disconnect"]


async def test_async_client_cancelled_before_the_response_head_disconnects():
    seen = []
    waiting = trio.Event()

    async def slow_to_answer(scope, receive, send):
        await receive()  # the request body
        waiting.set()
        seen.append((await receive())["type"])  # what a server says when the client leaves

    async with AsyncTestClient(slow_to_answer, lifespan=False) as client:
        with trio.CancelScope() as request_scope:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(client.get, "/")
                await waiting.wait()
                request_scope.cancel()
        with trio.fail_after(5):
            while not seen:
                await trio.sleep(0.001)
    assert seen == ["http.disconnect"]


async def test_async_client_without_block_reads_whole_response():
    client = AsyncTestClient(stream_app)
    response = await client.get("/")
    assert response.content == b"chunk0;chunk1;chunk2;"
    await client.aclose()


def test_asgi2_double_callable_apps_are_driven_too():
    from trioapi.testclient import ASGIInstance
    from trioapi.types import Receive, Scope, Send

    def function_app(scope: Scope) -> ASGIInstance:
        async def instance(receive: Receive, send: Send) -> None:
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": scope["path"].encode()})

        return instance

    class ClassApp:
        def __init__(self, scope: Scope) -> None:
            self.scope = scope

        async def __call__(self, receive: Receive, send: Send) -> None:
            await function_app(self.scope)(receive, send)

    assert TestClient(function_app).get("/fn").text == "/fn"
    assert TestClient(ClassApp).get("/cls").text == "/cls"


def test_trailers_are_captured_in_the_response_extensions():
    async def app(scope, receive, send):
        assert "http.response.trailers" in scope["extensions"]
        await send({"type": "http.response.start", "status": 200, "trailers": True})
        await send({"type": "http.response.body", "body": b"hi"})
        await send(
            {"type": "http.response.trailers", "headers": [(b"x-a", b"1")], "more_trailers": True}
        )
        await send({"type": "http.response.trailers", "headers": [(b"x-b", b"2")]})

    response = TestClient(app).get("/")

    assert response.content == b"hi"
    assert response.extensions["http.response.trailers"] == [(b"x-a", b"1"), (b"x-b", b"2")]
    assert "x-a" not in response.headers


@pytest.mark.parametrize(
    ("messages", "error"),
    [
        ([], "TestClient did not receive any response"),
        ([{"type": "http.response.trailers"}], "without declaring trailers"),
        (
            [
                {"type": "http.response.start", "status": 200, "trailers": True},
                {"type": "http.response.trailers"},
            ],
            "before body completed",
        ),
        (
            [
                {"type": "http.response.start", "status": 200, "trailers": True},
                {"type": "http.response.body"},
                {"type": "http.response.body"},
            ],
            "after body completed",
        ),
    ],
)
def test_messages_out_of_order_are_assertion_errors(messages, error):
    async def app(scope, receive, send):
        for message in messages:
            await send(message)

    with pytest.raises(AssertionError, match=error):
        TestClient(app).get("/")


def test_debug_info_becomes_template_and_context():
    info = {"template": "index.html", "context": {"name": "world"}}

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.debug", "info": info})
        await send({"type": "http.response.body", "body": b"ok"})

    response = TestClient(app).get("/")

    assert response.extensions["http.response.debug"] == info
    assert response.template == "index.html"
    assert response.context == {"name": "world"}


def scope_echo_app(*keys: str):
    async def app(scope, receive, send):
        from trioapi.responses import JSONResponse

        await JSONResponse({key: scope[key] for key in keys})(scope, receive, send)

    return app


def test_client_address_is_the_scopes_client_for_http_and_websocket():
    client = TestClient(scope_echo_app("client"), client=("192.168.0.1", 3000))
    assert client.get("/").json() == {"client": ["192.168.0.1", 3000]}
    assert TestClient(scope_echo_app("client")).get("/").json() == {"client": ["testclient", 50000]}


@pytest.mark.parametrize(
    ("base_url", "server", "host"),
    [
        ("http://[::1]", ["::1", 80], "[::1]"),
        ("http://[::1]:8000", ["::1", 8000], "[::1]:8000"),
        ("http://[::1]:0", ["::1", 0], "[::1]:0"),
        ("https://example.org", ["example.org", 443], "example.org"),
    ],
)
def test_server_and_host_come_from_the_base_url_port_zero_included(base_url, server, host):
    async def app(scope, receive, send):
        from trioapi.responses import JSONResponse

        headers = dict(scope["headers"])
        response = JSONResponse({"server": scope["server"], "host": headers[b"host"].decode()})
        await response(scope, receive, send)

    assert TestClient(app, base_url=base_url).get("/").json() == {"server": server, "host": host}


async def reused_buffer_app(scope, receive, send):
    buffer = bytearray(b"one")
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": memoryview(buffer), "more_body": True})
    buffer[:] = b"two"
    await send({"type": "http.response.body", "body": buffer})


def test_body_chunks_are_copied_when_received():
    client = TestClient(reused_buffer_app)
    assert client.get("/").content == b"onetwo"
    with client.stream("GET", "/") as response:
        assert list(response.iter_raw()) == [b"one", b"two"]


def test_a_timeout_argument_warns_that_it_does_nothing():
    from trioapi.exceptions import TrioAPIDeprecationWarning

    client = TestClient(echo_app)
    with pytest.warns(TrioAPIDeprecationWarning, match="'timeout' argument with the TestClient"):
        assert client.get("/", timeout=1).status_code == 200


@pytest.mark.parametrize("raise_server_exceptions", [True, False])
def test_closing_a_complete_streamed_response_waits_for_the_background_work(
    raise_server_exceptions,
):
    import threading

    completed = threading.Event()

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"hello"})
        await trio.sleep(0.05)
        completed.set()
        raise RuntimeError("background failure")

    client = TestClient(app, raise_server_exceptions=raise_server_exceptions)
    stream = client.stream("GET", "/")
    response = stream.__enter__()
    chunks = response.iter_raw()
    assert next(chunks) == b"hello"
    chunks.close()
    if raise_server_exceptions:
        with pytest.raises(RuntimeError, match="background failure"):
            stream.__exit__(None, None, None)
    else:
        stream.__exit__(None, None, None)
    assert completed.is_set()


def test_each_request_outside_with_gets_its_own_loop_and_inside_shares_one():
    seen: list[object] = []

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            return
        seen.append(trio.lowlevel.current_root_task())
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    client = TestClient(app)
    client.get("/")
    client.get("/")
    with client:
        client.get("/")
        client.get("/")

    assert seen[0] is not seen[1]
    assert seen[2] is seen[3]
    assert seen[2] not in seen[:2]


def test_leaving_a_websocket_cancels_an_app_that_only_waits_but_lets_cleanup_finish():
    log: list[str] = []

    async def sleeper(scope, receive, send):
        await receive()
        await send({"type": "websocket.accept"})
        try:
            await trio.sleep_forever()
        except trio.Cancelled:
            log.append("sleeper cancelled")
            raise

    async def cleaner(scope, receive, send):
        await receive()
        await send({"type": "websocket.accept"})
        assert (await receive())["type"] == "websocket.disconnect"
        for _ in range(10):
            await trio.lowlevel.checkpoint()
        log.append("cleaner finished")

    with TestClient(sleeper).websocket_connect("/"):
        pass
    with TestClient(cleaner).websocket_connect("/"):
        pass

    assert log == ["sleeper cancelled", "cleaner finished"]


def test_leaving_a_websocket_waits_for_a_teardown_in_a_worker_thread_and_raises_the_error():
    # The app waits on a thread (a sync dependency's teardown): it looks idle
    # to Trio but is not, and cancelling it would lose the endpoint's error.
    log: list[str] = []

    def session() -> Iterator[str]:
        try:
            yield "session"
        finally:
            time.sleep(0.05)
            log.append("teardown finished")

    app = TrioAPI()

    @app.websocket("/ws")
    async def endpoint(websocket: WebSocket, _: str = Depends(session)) -> None:
        await websocket.accept()
        raise ValueError("Session closed")

    with (
        pytest.raises(ValueError, match="Session closed"),
        TestClient(app).websocket_connect("/ws"),
    ):
        pass
    assert log == ["teardown finished"]


def test_the_app_sends_no_faster_than_the_client_reads():
    sent: list[int] = []

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for index in range(100):
            await send({"type": "http.response.body", "body": b"", "more_body": True})
            sent.append(index)
        await send({"type": "http.response.body", "body": b"end"})

    with TestClient(app).stream("GET", "/") as response:
        assert sent == []
        assert response.read() == b"end"
    assert len(sent) == 100


@pytest.mark.parametrize("trailers", [True, False])
def test_closing_an_unfinished_response_ends_the_app(trailers):
    log: list[str] = []

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "trailers": trailers})
        await send({"type": "http.response.body", "body": b"hello", "more_body": not trailers})
        # The client leaves: told so, this app still ignores it.
        assert (await receive())["type"] == "http.request"
        try:
            await trio.sleep_forever()
        except trio.Cancelled:
            log.append("cancelled")
            raise

    with TestClient(app).stream("GET", "/") as response:
        assert next(response.iter_raw()) == b"hello"
    assert log == ["cancelled"]


def test_an_app_told_of_the_disconnect_may_finish_on_its_own():
    log: list[str] = []

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"tick", "more_body": True})
        await receive()  # the (empty) request body
        log.append((await receive())["type"])

    with TestClient(app).stream("GET", "/") as response:
        assert next(response.iter_raw()) == b"tick"
    assert log == ["http.disconnect"]


def test_closing_the_client_cancels_the_app_of_an_unclosed_response():
    log: list[str] = []

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"hello"})
        try:
            await trio.sleep_forever()  # a background task that never ends
        except trio.Cancelled:
            log.append("cancelled")
            raise

    client = TestClient(app)
    response = client.send(client.build_request("GET", "/"), stream=True)
    chunks = response.iter_raw()
    assert next(chunks) == b"hello"
    client.close()
    assert log == ["cancelled"]
    chunks.close()  # closing the response later is harmless (its loop is gone)
    response.close()


def test_receive_answers_disconnect_once_the_response_is_complete():
    seen: list[str] = []

    async def app(scope, receive, send):
        assert (await receive())["type"] == "http.request"
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        seen.append((await receive())["type"])

    assert TestClient(app).post("/", content=b"x").status_code == 204
    assert seen == ["http.disconnect"]


def test_an_app_failing_before_its_response_is_a_bare_500_when_not_reraised():
    async def app(scope, receive, send):
        raise RuntimeError("before the response")

    response = TestClient(app, raise_server_exceptions=False).get("/")
    assert (response.status_code, response.content) == (500, b"")


async def test_a_slow_reader_still_gets_the_last_body_message(autojump_clock: object) -> None:
    # The app hears http.disconnect only once the client has the whole
    # response: said while the last message still waited for a slow client
    # (a test's thread under load), the disconnect watch gave up on that send
    # two ticks later and the client read an empty body.
    app = TrioAPI()

    @app.get("/")
    async def home() -> dict[str, str]:
        return {"hello": "world"}

    async with AsyncTestClient(app) as client:
        async with client.stream("GET", "/") as response:
            assert response.status_code == 200
            await trio.sleep(5)  # far past the watchdog's ticks
            body = await response.aread()
    assert body == b'{"hello":"world"}'
