"""WSGIMiddleware: a WSGI app served from a worker thread, its body streamed back on Trio."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import trio

from trioapi import TrioAPI
from trioapi.middleware.wsgi import WSGIMiddleware, build_environ
from trioapi.testclient import TestClient
from trioapi.types import Message

StartResponse = Callable[..., Any]


def echo_environ(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
    body = environ["wsgi.input"].read()
    start_response(
        "201 Created",
        [("Content-Type", "text/plain"), ("X-Thread", threading.current_thread().name)],
    )
    keys = (
        "REQUEST_METHOD",
        "SCRIPT_NAME",
        "PATH_INFO",
        "QUERY_STRING",
        "CONTENT_TYPE",
        "HTTP_X_TOKEN",
    )
    lines = [f"{key}={environ.get(key)}" for key in keys]
    return ["\n".join(lines).encode(), b"\nbody=", body]


def mounted(wsgi_app: Callable[..., Any]) -> TestClient:
    app = TrioAPI()

    @app.get("/v2")
    def read_main() -> dict[str, str]:
        return {"message": "Hello World"}

    app.mount("/v1", WSGIMiddleware(wsgi_app))
    return TestClient(app)


def test_mounted_wsgi_app_sees_the_request_and_its_response_is_sent() -> None:
    client = mounted(echo_environ)
    response = client.post(
        "/v1/some/path?name=caf%C3%A9",
        content=b"hello",
        headers={"content-type": "text/plain", "x-token": "abc"},
    )
    assert response.status_code == 201
    assert response.headers["content-type"] == "text/plain"
    # The WSGI app ran in a worker thread, not in the event loop's thread.
    assert response.headers["x-thread"] != threading.current_thread().name
    assert response.text.splitlines() == [
        "REQUEST_METHOD=POST",
        "SCRIPT_NAME=/v1",
        "PATH_INFO=/some/path",
        "QUERY_STRING=name=caf%C3%A9",
        "CONTENT_TYPE=text/plain",
        "HTTP_X_TOKEN=abc",
        "body=hello",
    ]
    assert client.get("/v2").json() == {"message": "Hello World"}


def test_environ_paths_are_latin1_strings_of_utf8_bytes_and_repeated_headers_join() -> None:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/v1/café",
        "root_path": "/v1",
        "query_string": b"",
        "headers": [(b"accept", b"a"), (b"accept", b"b")],
        "server": ("example.com", 8080),
        "client": ("10.0.0.1", 5000),
        "scheme": "https",
    }
    environ = build_environ(scope, b"")
    assert environ["PATH_INFO"] == "/café".encode().decode("latin-1")
    assert environ["HTTP_ACCEPT"] == "a,b"
    assert (environ["SERVER_NAME"], environ["SERVER_PORT"]) == ("example.com", "8080")
    assert (environ["REMOTE_ADDR"], environ["REMOTE_PORT"]) == ("10.0.0.1", "5000")
    assert environ["wsgi.url_scheme"] == "https"


def test_generator_body_is_streamed_in_chunks_and_closed() -> None:
    events: list[str] = []

    def streaming(environ: dict[str, Any], start_response: StartResponse) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        try:
            for part in ("a", "b", "c"):
                yield part.encode()
        finally:
            events.append("closed")

    with mounted(streaming).stream("GET", "/v1/") as response:
        chunks = list(response.iter_bytes())
    assert b"".join(chunks) == b"abc"
    assert events == ["closed"]


def test_legacy_write_callable_sends_body_before_the_returned_iterable() -> None:
    def legacy(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        write = start_response("200 OK", [])
        write(b"first,")
        return [b"second"]

    assert mounted(legacy).get("/v1/").content == b"first,second"


def test_error_before_start_response_reaches_the_error_middleware() -> None:
    def broken(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        raise ValueError("wsgi app is broken")

    with pytest.raises(ValueError, match="wsgi app is broken"):
        mounted(broken).get("/v1/")
    client = TestClient(mounted(broken).app, raise_server_exceptions=False)
    assert client.get("/v1/").status_code == 500


async def test_failed_send_stops_the_wsgi_app_and_closes_its_iterable() -> None:
    events: list[str] = []

    def endless(environ: dict[str, Any], start_response: StartResponse) -> Iterator[bytes]:
        start_response("200 OK", [])
        try:
            while True:
                yield b"x"
        finally:
            events.append("closed")

    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        if len(sent) == 3:
            raise OSError("client went away")
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b""}
    with pytest.raises(OSError, match="client went away"):
        await WSGIMiddleware(endless)(scope, receive, send)
    assert [m["type"] for m in sent] == [
        "http.response.start",
        "http.response.body",
        "http.response.body",
    ]
    assert events == ["closed"]


async def test_websocket_scope_is_refused_with_the_fix() -> None:
    async def receive() -> Message:
        raise AssertionError("not reached")

    async def send(message: Message) -> None:
        raise AssertionError("not reached")

    with pytest.raises(RuntimeError, match="serves HTTP only, not 'websocket'"):
        await WSGIMiddleware(echo_environ)({"type": "websocket"}, receive, send)


async def test_disconnect_while_reading_the_body_never_starts_the_wsgi_app() -> None:
    calls: list[str] = []

    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        calls.append("called")
        return []

    async def receive() -> Message:
        await trio.lowlevel.checkpoint()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        raise AssertionError("nothing is sent")

    await WSGIMiddleware(app)({"type": "http", "method": "POST", "path": "/"}, receive, send)
    assert calls == []


def test_a2wsgi_middleware_mounted_on_the_app_is_served_on_trio() -> None:
    # A stand-in with a2wsgi's module and class name: the real one needs asyncio.
    fake = type("WSGIMiddleware", (), {"__module__": "a2wsgi.wsgi"})()
    fake.app = echo_environ
    app = TrioAPI()
    app.mount("/v1", fake)
    response = TestClient(app).get("/v1/x?q=1")
    assert response.status_code == 201
    assert "PATH_INFO=/x" in response.text.splitlines()


def test_a2wsgi_middleware_mounted_on_a_router_or_in_routes_is_served_on_trio() -> None:
    from trioapi import APIRouter
    from trioapi.routing import Mount

    def fake_a2wsgi() -> object:
        fake = type("WSGIMiddleware", (), {"__module__": "a2wsgi.wsgi"})()
        fake.app = echo_environ
        return fake

    router = APIRouter()
    router.mount("/r", fake_a2wsgi())
    app = TrioAPI(routes=[Mount("/m", app=fake_a2wsgi())])
    app.include_router(router)
    client = TestClient(app)
    assert "PATH_INFO=/x" in client.get("/r/x").text.splitlines()
    assert "PATH_INFO=/y" in client.get("/m/y").text.splitlines()


def test_an_error_reported_through_exc_info_is_raised_after_its_response_is_sent() -> None:
    def reports(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        try:
            raise RuntimeError("Something went wrong")
        except RuntimeError:
            start_response(
                "500 Internal Server Error",
                [("Content-Type", "text/plain; charset=utf-8")],
                sys.exc_info(),
            )
            return [b"Internal Server Error"]

    with pytest.raises(RuntimeError, match="Something went wrong"):
        TestClient(WSGIMiddleware(reports)).get("/")
    response = TestClient(WSGIMiddleware(reports), raise_server_exceptions=False).get("/")
    assert (response.status_code, response.text) == (500, "Internal Server Error")


@pytest.mark.parametrize(
    ("root_path", "path", "script_name", "path_info"),
    [
        ("/app", "/application", "/app", "/application"),
        ("/app", "/app/users", "/app", "/users"),
        ("/app", "/app", "/app", ""),
        ("/app/", "/app/users", "/app/", "users"),
        ("", "/users", "", "/users"),
    ],
)
def test_script_name_and_path_info_add_up_to_the_path(
    root_path: str, path: str, script_name: str, path_info: str
) -> None:
    scope = {"type": "http", "method": "GET", "path": path, "root_path": root_path, "headers": []}
    environ = build_environ(scope, b"")
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == (script_name, path_info)
