"""Tests for trioapi.requests: HTTPConnection and Request over hand-built ASGI scopes."""

from __future__ import annotations

import json
from typing import Any

import pytest
import trio

from trioapi import formparsers
from trioapi._scopes import CONTEXT_KEY, RequestContext, RequestLimits
from trioapi.datastructures import URL, Address, UploadFile, URLPath
from trioapi.exceptions import HTTPException
from trioapi.requests import ClientDisconnect, HTTPConnection, Request

BOUNDARY = "a7f3boundary"


def make_scope(**overrides: Any) -> dict[str, Any]:
    scope: dict[str, Any] = {
        "type": "http",
        "method": "GET",
        "scheme": "http",
        "server": ("testserver", 80),
        "path": "/",
        "root_path": "",
        "query_string": b"",
        "headers": [],
        "client": ("127.0.0.1", 4321),
    }
    scope.update(overrides)
    return scope


def make_receive(*messages: dict[str, Any]) -> Any:
    """A receive that returns ``messages`` in order, then waits forever."""
    queue = list(messages)

    async def receive() -> dict[str, Any]:
        if not queue:
            await trio.sleep_forever()
        await trio.lowlevel.checkpoint()
        return queue.pop(0)

    return receive


def body_messages(*chunks: bytes) -> list[dict[str, Any]]:
    last = len(chunks) - 1
    return [
        {"type": "http.request", "body": chunk, "more_body": i < last}
        for i, chunk in enumerate(chunks)
    ]


def multipart_body(parts: list[tuple[str, str | None, bytes]]) -> bytes:
    """Encode ``(name, filename or None, content)`` parts with BOUNDARY."""
    out = b""
    for name, filename, content in parts:
        disposition = f'form-data; name="{name}"'
        headers = ""
        if filename is not None:
            disposition += f'; filename="{filename}"'
            headers = "Content-Type: text/plain\r\n"
        out += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n{headers}\r\n".encode()
        out += content + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


def form_request(content_type: str, body: bytes, **overrides: Any) -> Request:
    headers = [(b"content-type", content_type.encode()), (b"content-length", b"%d" % len(body))]
    scope = make_scope(method="POST", headers=headers, **overrides)
    # Inside an application (scope["app"]) a bad form is an HTTPException(400).
    scope.setdefault("app", object())
    return Request(scope, make_receive(*body_messages(body)))


def multipart_request(parts: list[tuple[str, str | None, bytes]], **overrides: Any) -> Request:
    content_type = f"multipart/form-data; boundary={BOUNDARY}"
    return form_request(content_type, multipart_body(parts), **overrides)


# --- HTTPConnection -------------------------------------------------------


def test_url_and_base_url_include_root_path_and_query() -> None:
    scope = make_scope(
        path="/api/items",  # ASGI: path includes root_path
        root_path="/api",
        query_string=b"a=1&a=2&b=x",
        headers=[(b"host", b"example.com:8000")],
    )
    conn = HTTPConnection(scope)
    assert str(conn.url) == "http://example.com:8000/api/items?a=1&a=2&b=x"
    assert str(conn.base_url) == "http://example.com:8000/api/"
    assert conn.url is conn.url
    assert conn.query_params.getlist("a") == ["1", "2"]
    assert conn.query_params["b"] == "x"


def test_base_url_without_root_path_ends_with_slash() -> None:
    conn = HTTPConnection(make_scope(path="/x/y", query_string=b"q=1"))
    assert str(conn.base_url) == "http://testserver/"


def test_headers_are_case_insensitive_and_cached() -> None:
    conn = HTTPConnection(make_scope(headers=[(b"x-token", b"abc"), (b"accept", b"*/*")]))
    assert conn.headers["X-Token"] == "abc"
    assert conn.headers.get("missing") is None
    assert conn.headers is conn.headers


def test_cookies_are_parsed_leniently() -> None:
    header = b'a=1; b="x\\"y\\054z"; junk; =; c = 3 ; d=e=f'
    conn = HTTPConnection(make_scope(headers=[(b"cookie", header)]))
    assert conn.cookies == {"a": "1", "b": 'x"y,z', "": "junk", "c": "3", "d": "e=f"}


def test_cookies_are_empty_without_header() -> None:
    assert HTTPConnection(make_scope()).cookies == {}


def test_cookies_split_over_several_headers_are_all_read() -> None:
    headers = [(b"cookie", b"a=abc"), (b"cookie", b"b=def; a=new"), (b"cookie", b"c=ghi")]
    conn = HTTPConnection(make_scope(headers=headers))
    assert conn.cookies == {"a": "new", "b": "def", "c": "ghi"}


def test_client_is_an_address_or_none() -> None:
    client = HTTPConnection(make_scope()).client
    assert client == Address("127.0.0.1", 4321)
    assert client is not None
    assert (client.host, client.port) == ("127.0.0.1", 4321)
    assert HTTPConnection(make_scope(client=None)).client is None


def test_path_params_default_to_empty() -> None:
    assert HTTPConnection(make_scope()).path_params == {}
    assert HTTPConnection(make_scope(path_params={"id": 3})).path_params == {"id": 3}


def test_state_is_shared_through_the_scope() -> None:
    scope = make_scope()
    HTTPConnection(scope).state.user_id = 7
    assert HTTPConnection(scope).state.user_id == 7
    assert scope["state"] == {"user_id": 7}


def test_session_requires_session_middleware() -> None:
    with pytest.raises(AssertionError, match="SessionMiddleware must be installed"):
        _ = HTTPConnection(make_scope()).session
    assert HTTPConnection(make_scope(session={"k": "v"})).session == {"k": "v"}


def test_auth_and_user_require_authentication_middleware() -> None:
    conn = HTTPConnection(make_scope())
    with pytest.raises(AssertionError, match="AuthenticationMiddleware must be installed"):
        _ = conn.auth
    with pytest.raises(AssertionError, match="AuthenticationMiddleware must be installed"):
        _ = conn.user
    conn = HTTPConnection(make_scope(auth="creds", user="alice"))
    assert (conn.auth, conn.user) == ("creds", "alice")


def test_connection_is_a_mapping_over_the_scope_with_identity_equality() -> None:
    scope = make_scope(method="PUT")
    conn = HTTPConnection(scope)
    assert conn["method"] == "PUT"
    assert len(conn) == len(scope)
    assert set(conn) == set(scope)
    assert conn == conn
    assert conn != HTTPConnection(scope)
    assert len({conn, HTTPConnection(scope)}) == 2


def test_connection_accepts_websocket_and_rejects_lifespan_scopes() -> None:
    conn = HTTPConnection(make_scope(type="websocket", scheme="ws"))
    assert str(conn.url) == "ws://testserver/"
    with pytest.raises(ValueError, match="'http' or 'websocket' scope, got 'lifespan'"):
        HTTPConnection({"type": "lifespan"})
    with pytest.raises(ValueError, match="Request needs an 'http' scope, got 'websocket'"):
        Request(make_scope(type="websocket"))


class StubRouter:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        self.calls.append((name, path_params))
        return URLPath("/items/1")


def test_url_for_uses_the_router_and_the_base_url() -> None:
    router = StubRouter()
    scope = make_scope(router=router, root_path="/api", headers=[(b"host", b"example.org")])
    url = HTTPConnection(scope).url_for("read_item", item_id=1)
    assert isinstance(url, URL)
    assert str(url) == "http://example.org/api/items/1"
    assert router.calls == [("read_item", {"item_id": 1})]


def test_url_for_without_router_or_app_says_so() -> None:
    with pytest.raises(RuntimeError, match="can only be used inside a Starlette application"):
        HTTPConnection(make_scope()).url_for("read_item")


def test_url_for_falls_back_to_the_app() -> None:
    app = StubRouter()
    url = HTTPConnection(make_scope(app=app)).url_for("read_item", item_id=1)
    assert str(url) == "http://testserver/items/1"
    assert HTTPConnection(make_scope(app=app)).app is app


# --- Request body ---------------------------------------------------------


async def test_body_joins_chunks_and_is_cached() -> None:
    request = Request(make_scope(method="POST"), make_receive(*body_messages(b"ab", b"", b"cd")))
    assert request.method == "POST"
    assert await request.body() == b"abcd"
    assert await request.body() == b"abcd"


async def test_body_is_shared_by_requests_over_the_same_scope() -> None:
    scope = make_scope(method="POST")
    receive = make_receive(*body_messages(b"hello"))
    assert await Request(scope, receive).body() == b"hello"
    # The second Request would wait forever on the receive: the body comes from the scope.
    second = Request(scope, receive)
    assert await second.body() == b"hello"
    assert [chunk async for chunk in second.stream()] == [b"hello", b""]


async def test_stream_yields_chunks_then_empty_bytes() -> None:
    request = Request(make_scope(), make_receive(*body_messages(b"a", b"", b"b")))
    assert [chunk async for chunk in request.stream()] == [b"a", b"b", b""]


async def test_stream_after_body_replays_the_body() -> None:
    request = Request(make_scope(), make_receive(*body_messages(b"a", b"b")))
    await request.body()
    assert [chunk async for chunk in request.stream()] == [b"ab", b""]


async def test_second_stream_raises_stream_consumed() -> None:
    request = Request(make_scope(), make_receive(*body_messages(b"a")))
    assert [chunk async for chunk in request.stream()] == [b"a", b""]
    with pytest.raises(RuntimeError, match="Stream consumed"):
        async for _ in request.stream():
            pass


async def test_disconnect_while_reading_raises_client_disconnect() -> None:
    receive = make_receive(
        {"type": "http.request", "body": b"part", "more_body": True}, {"type": "http.disconnect"}
    )
    request = Request(make_scope(), receive)
    with pytest.raises(ClientDisconnect):
        await request.body()
    assert await request.is_disconnected() is True


async def test_json_decodes_the_body_once() -> None:
    payload = {"a": [1, 2], "b": None}
    request = Request(make_scope(), make_receive(*body_messages(json.dumps(payload).encode())))
    first = await request.json()
    assert first == payload
    assert await request.json() is first


async def test_json_raises_on_invalid_body() -> None:
    request = Request(make_scope(), make_receive(*body_messages(b"{nope")))
    with pytest.raises(json.JSONDecodeError):
        await request.json()


async def test_request_without_receive_or_send_explains_itself() -> None:
    request = Request(make_scope())
    with pytest.raises(RuntimeError, match="Receive channel has not been made available"):
        await request.body()
    with pytest.raises(RuntimeError, match="Send channel has not been made available"):
        await Request(make_scope(extensions={"http.response.push": {}})).send_push_promise("/")


# --- forms ----------------------------------------------------------------


async def test_urlencoded_form_is_parsed_and_cached() -> None:
    request = form_request(
        "application/x-www-form-urlencoded", b"name=J%C3%BCrgen+X&tag=a&tag=b&empty="
    )
    form = await request.form()
    assert form.multi_items() == [
        ("name", "Jürgen X"),
        ("tag", "a"),
        ("tag", "b"),
        ("empty", ""),
    ]
    assert await request.form() is form


async def test_form_of_other_content_type_is_empty() -> None:
    form = await form_request("application/json", b'{"a": 1}').form()
    assert form.multi_items() == []


async def test_multipart_form_with_file_and_fields() -> None:
    request = multipart_request(
        [
            ("title", None, b"Caf\xc3\xa9"),
            ("upload", "notes.txt", b"line1\nline2"),
            ("n", None, b"3"),
        ]
    )
    form = await request.form()
    assert form["title"] == "Café"
    assert form["n"] == "3"
    upload = form["upload"]
    assert isinstance(upload, UploadFile)
    assert upload.filename == "notes.txt"
    assert upload.size == 11
    assert upload.headers["content-type"] == "text/plain"
    assert upload.content_type == "text/plain"
    assert await upload.read() == b"line1\nline2"
    await request.close()
    assert upload.file.closed


async def test_multipart_form_keeps_several_files_under_one_name() -> None:
    request = multipart_request([("files", "a.txt", b"A"), ("files", "b.txt", b"BB")])
    form = await request.form()
    files = form.getlist("files")
    assert [f.filename for f in files if isinstance(f, UploadFile)] == ["a.txt", "b.txt"]
    assert [await f.read() for f in files if isinstance(f, UploadFile)] == [b"A", b"BB"]
    await form.close()


async def test_too_many_fields_is_a_400() -> None:
    request = multipart_request([("a", None, b"1"), ("b", None, b"2"), ("c", None, b"3")])
    with pytest.raises(
        HTTPException, match="Too many fields. Maximum number of fields is 2."
    ) as info:
        await request.form(max_fields=2)
    assert info.value.status_code == 400
    assert info.value.detail == "Too many fields. Maximum number of fields is 2."


async def test_too_many_files_is_a_400_with_starlettes_message() -> None:
    parts: list[tuple[str, str | None, bytes]] = [("f", f"{i}.txt", b"x") for i in range(1001)]
    with pytest.raises(HTTPException) as info:
        await multipart_request(parts).form()
    assert info.value.status_code == 400
    assert info.value.detail == "Too many files. Maximum number of files is 1000."


async def test_oversized_field_part_is_a_400() -> None:
    request = multipart_request([("big", None, b"x" * (1024 * 1024 + 1))])
    with pytest.raises(HTTPException) as info:
        await request.form()
    assert info.value.status_code == 400
    assert info.value.detail == "Part exceeded maximum size of 1024KB."


async def test_multipart_without_boundary_is_a_400() -> None:
    request = form_request("multipart/form-data", b"--x\r\n")
    with pytest.raises(HTTPException) as info:
        await request.form()
    assert (info.value.status_code, info.value.detail) == (400, "Missing boundary in multipart.")


async def test_bad_form_outside_an_application_raises_multipart_exception() -> None:
    from trioapi.formparsers import MultiPartException

    body = f"--{BOUNDARY}\r\nContent-Disposition: form-data\r\n\r\nx\r\n--{BOUNDARY}--\r\n"
    request = form_request(f"multipart/form-data; boundary={BOUNDARY}", body.encode(), app=None)
    del request.scope["app"]

    with pytest.raises(MultiPartException, match='"name" must be provided'):
        await request.form()


async def test_part_without_name_is_a_400() -> None:
    body = f"--{BOUNDARY}\r\nContent-Disposition: form-data\r\n\r\nx\r\n--{BOUNDARY}--\r\n"
    request = form_request(f"multipart/form-data; boundary={BOUNDARY}", body.encode())
    with pytest.raises(HTTPException, match='"name" must be provided') as info:
        await request.form()
    assert info.value.status_code == 400


async def test_body_limit_error_during_multipart_propagates_and_closes_files(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    head = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="f"; filename="a"\r\n\r\n'
    messages = [{"type": "http.request", "body": head.encode() + b"data", "more_body": True}]
    opened: list[Any] = []

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        raise HTTPException(413, "Request body is too large")

    headers = [(b"content-type", f"multipart/form-data; boundary={BOUNDARY}".encode())]
    request = Request(make_scope(method="POST", headers=headers), receive)
    real_spool = formparsers.SpooledTemporaryFile

    def recording_spool(*args: Any, **kwargs: Any) -> Any:
        spool = real_spool(*args, **kwargs)
        opened.append(spool)
        return spool

    monkeypatch.setattr(formparsers, "SpooledTemporaryFile", recording_spool)
    with pytest.raises(HTTPException, match="too large") as info:
        await request.form()
    assert info.value.status_code == 413
    assert len(opened) == 1
    assert opened[0].closed


async def test_async_with_form_closes_the_files() -> None:
    request = multipart_request([("upload", "a.bin", b"\x00\x01")])
    async with request.form() as form:
        upload = form["upload"]
        assert isinstance(upload, UploadFile)
        assert await upload.read() == b"\x00\x01"
        assert not upload.file.closed
    assert upload.file.closed


async def test_form_files_are_closed_by_the_request_context_cleanup() -> None:
    context = RequestContext(RequestLimits(), None)
    request = multipart_request([("upload", "a.bin", b"data")], **{CONTEXT_KEY: context})
    form = await request.form()
    upload = form["upload"]
    assert isinstance(upload, UploadFile)
    assert not upload.file.closed
    await context.run_cleanups()
    assert upload.file.closed


async def test_form_is_shared_by_requests_over_the_same_scope() -> None:
    request = form_request("application/x-www-form-urlencoded", b"a=1")
    form = await request.form()
    assert await Request(request.scope, make_receive()).form() is form


# --- disconnects and push -------------------------------------------------


async def test_is_disconnected_asks_the_request_context() -> None:
    context = RequestContext(RequestLimits(), None)
    request = Request(make_scope(**{CONTEXT_KEY: context}), make_receive())
    assert await request.is_disconnected() is False
    context.client_disconnected = True
    assert await request.is_disconnected() is True


async def test_is_disconnected_polls_receive_without_blocking() -> None:
    request = Request(make_scope(), make_receive())
    assert await request.is_disconnected() is False
    disconnected = Request(make_scope(), make_receive({"type": "http.disconnect"}))
    assert await disconnected.is_disconnected() is True
    assert await disconnected.is_disconnected() is True


async def test_is_disconnected_polls_a_trio_channel(autojump_clock: Any) -> None:
    send_channel, receive_channel = trio.open_memory_channel[dict[str, Any]](2)
    request = Request(make_scope(), receive_channel.receive)
    assert await request.is_disconnected() is False
    await send_channel.send({"type": "http.request", "body": b"x"})
    await send_channel.send({"type": "http.disconnect"})
    assert await request.is_disconnected() is False
    assert await request.is_disconnected() is True
    # The complete body the poll read first is still there.
    assert await request.body() == b"x"


async def test_is_disconnected_keeps_a_body_message_it_polled() -> None:
    messages = body_messages(b"kept")

    async def ready_receive() -> dict[str, Any]:
        return messages.pop(0)

    request = Request(make_scope(), ready_receive)
    assert await request.is_disconnected() is False
    assert await request.body() == b"kept"


async def test_send_push_promise_copies_request_headers() -> None:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    headers = [(b"accept", b"text/html"), (b"user-agent", b"t/1"), (b"cookie", b"a=1")]
    scope = make_scope(headers=headers, extensions={"http.response.push": {}})
    await Request(scope, make_receive(), send).send_push_promise("/style.css")
    assert sent == [
        {
            "type": "http.response.push",
            "path": "/style.css",
            "headers": [(b"accept", b"text/html"), (b"user-agent", b"t/1")],
        }
    ]
    await Request(make_scope(headers=headers), make_receive(), send).send_push_promise("/x")
    assert len(sent) == 1


async def test_send_early_hints_takes_starlettes_links_as_arguments() -> None:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = make_scope(method="GET")
    scope["extensions"] = {"http.response.early_hint": {}}
    request = Request(scope, make_receive(), send)

    assert await request.send_early_hints("</a.css>; rel=preload", "</b.js>; rel=preload") is True
    assert await request.send_early_hints(["</c.css>"]) is True
    assert [m["links"] for m in sent] == [
        [b"</a.css>; rel=preload", b"</b.js>; rel=preload"],
        [b"</c.css>"],
    ]
