"""Hostile input is answered with a 4xx (or served sanely), never a 500, a traceback or a hang."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import trio
from pydantic import BaseModel

from tests.serving import run_hypercorn
from trioapi import Cookie, Form, Header, Request, TrioAPI
from trioapi.middleware.cors import CORSMiddleware
from trioapi.middleware.trustedhost import TrustedHostMiddleware
from trioapi.responses import FileResponse, PlainTextResponse, Response
from trioapi.staticfiles import StaticFiles
from trioapi.testclient import TestClient


class Item(BaseModel):
    name: str
    tags: list[object] = []


def build_app(static_dir: Path, file_path: Path) -> TrioAPI:
    app = TrioAPI()
    app.mount("/static", StaticFiles(directory=static_dir), name="static")

    @app.post("/items")
    async def create_item(item: Item):
        return {"name": item.name}

    @app.post("/any-json")
    async def any_json(payload: dict[str, object]):
        return {"keys": sorted(payload)}

    @app.post("/login")
    async def login(username: str = Form(), password: str = Form()):
        return {"username": username}

    @app.get("/echo/{word}")
    async def echo(word: str, q: str = "", x_token: str = Header(""), session: str = Cookie("")):
        return {"word": word, "q": q, "x_token": x_token, "session": session}

    @app.get("/raw")
    async def raw(request: Request):
        return {"path": request.url.path, "query": dict(request.query_params)}

    @app.get("/file")
    async def file():
        return FileResponse(file_path)

    @app.get("/crash")
    async def crash():
        raise RuntimeError("secret internal detail")

    return app


@pytest.fixture
def paths(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "secret.txt").write_text("top secret")
    static = tmp_path / "static"
    static.mkdir()
    (static / "index.txt").write_text("public")
    data = tmp_path / "data.bin"
    data.write_bytes(bytes(range(256)) * 4)  # 1024 bytes
    return static, data


@pytest.fixture
def client(paths: tuple[Path, Path]) -> TestClient:
    return TestClient(build_app(*paths), raise_server_exceptions=False)


# -- bodies --------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"{", b'{"name": }', b"\xff\xfe", b'{"name": "a"', b"[1, 2", b'"\\ud800"x', b"nul\x00"],
)
def test_malformed_json_is_422_json_invalid(client, body):
    response = client.post("/items", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"


def test_json_nested_past_the_limit_is_422_with_a_clear_message(client):
    deep = b'{"name": "x", "tags": ' + b"[" * 100 + b"]" * 100 + b"}"
    response = client.post("/items", content=deep, headers={"content-type": "application/json"})
    assert response.status_code == 422
    detail = response.json()["detail"][0]
    assert detail["type"] == "json_invalid"
    assert detail["ctx"] == {"error": "JSON nesting is deeper than the limit of 64 levels"}


def test_json_nested_to_the_limit_is_accepted(client):
    ok = b'{"name": "x", "tags": ' + b"[" * 63 + b"]" * 63 + b"}"
    response = client.post("/items", content=ok, headers={"content-type": "application/json"})
    assert response.status_code == 200
    assert response.json() == {"name": "x"}


def test_brackets_inside_strings_do_not_count_as_nesting(client):
    body = b'{"name": "' + b"[" * 500 + b'"}'
    response = client.post("/items", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 200


def test_extremely_deep_json_is_refused_not_a_recursion_error(client):
    body = b"{" + b'"a":{' * 100_000 + b"}" * 100_001
    response = client.post("/any-json", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422


def test_max_json_depth_is_settable_on_the_app(paths):
    app = build_app(*paths)
    app.max_json_depth = 2
    response = TestClient(app).post("/items", json={"name": "x", "tags": [[1]]})
    assert response.status_code == 422
    assert "limit of 2 levels" in response.json()["detail"][0]["ctx"]["error"]


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/xml",
        "multipart/form-data",
        "application/x-www-form-urlencoded",
        "nonsense",
    ],
)
def test_wrong_content_type_for_json_body_is_422(client, content_type):
    response = client.post(
        "/items", content=b'{"name": "x"}', headers={"content-type": content_type}
    )
    assert response.status_code == 422


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data; boundary=xyz", b"--xyz\r\nContent-Disposition: garbage\r\n\r\nx"),
        ("multipart/form-data", b"no boundary at all"),
        ("multipart/form-data; boundary=xyz", b"\xff" * 100),
        ("application/x-www-form-urlencoded", b"username=&&&==="),
        ("application/json", b'{"username": "a"}'),
    ],
)
def test_malformed_forms_are_4xx(client, content_type, body):
    response = client.post("/login", content=body, headers={"content-type": content_type})
    assert 400 <= response.status_code < 500


def test_invalid_percent_escapes_in_a_form_are_replaced_not_500(client):
    response = client.post(
        "/login",
        content=b"username=%ff%fe&password=%zz",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200
    assert response.json() == {"username": "\ufffd\ufffd"}


# -- invalid UTF-8 in the request line and headers -----------------------------


def test_invalid_utf8_in_query_header_and_cookie_is_not_500(client):
    response = client.get(
        "/echo/caf%C3%A9",
        params={},
        headers={"x-token": b"caf\xe9", "cookie": b"session=\xff\xfe"},
    )
    assert response.status_code == 200
    # Headers are latin-1 (as in Starlette); the path is percent-decoded UTF-8.
    assert response.json() == {
        "word": "caf\xe9",
        "q": "",
        "x_token": "caf\xe9",
        "session": "\xff\xfe",
    }


@pytest.mark.parametrize("path", ["/echo/%ff%fe", "/echo/%c3", "/echo/a%e2%82", "/static/%80"])
def test_a_path_whose_percent_escapes_are_not_utf8_is_400(client, path):
    response = client.get(path)
    assert response.status_code == 400
    assert response.json() == {"detail": "Invalid percent-encoding in the path: not UTF-8"}


def test_an_encoded_replacement_character_in_the_path_is_still_a_path(client):
    # U+FFFD sent as its UTF-8 bytes is a valid path, not a decoding error.
    response = client.get("/echo/%EF%BF%BD")
    assert (response.status_code, response.json()["word"]) == (200, "\ufffd")


def test_a_plain_router_answers_400_in_plain_text_for_a_bad_path():
    from trioapi.routing import Route, Router

    async def word(request: Request) -> PlainTextResponse:
        return PlainTextResponse(request.path_params["word"])

    client = TestClient(Router([Route("/{word}", word)]))
    response = client.get("/%ff")
    assert (response.status_code, response.text) == (
        400,
        "Invalid percent-encoding in the path: not UTF-8",
    )
    assert client.get("/ok").text == "ok"


def test_invalid_utf8_in_query_string_is_replaced_not_500(client):
    response = client.get("/raw?q=%ff%fe&%c3=1")
    assert response.status_code == 200
    assert response.json()["query"]["q"] == "\ufffd\ufffd"


# -- static files: path traversal ----------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/static/../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/%2e%2e%2fsecret.txt",
        "/static/..%2fsecret.txt",
        "/static/..%5csecret.txt",
        "/static/%2fetc%2fpasswd",
        "/static//etc/passwd",
        "/static/index.txt%00.png",
        "/static/%00",
        "/static/....//secret.txt",
    ],
)
def test_static_files_never_leave_their_directory(client, path):
    response = client.get(path)
    assert response.status_code in (400, 404)
    assert b"top secret" not in response.content


def test_static_files_still_serve_inside(client):
    assert client.get("/static/index.txt").text == "public"


# -- Range abuse on FileResponse -----------------------------------------------


def test_range_past_the_end_is_416(client):
    response = client.get("/file", headers={"range": "bytes=5000-6000"})
    assert response.status_code == 416
    assert response.headers["content-range"] == "bytes */1024"


def test_huge_range_numbers_are_clamped_or_refused(client):
    response = client.get("/file", headers={"range": "bytes=0-" + "9" * 400})
    assert response.status_code in (206, 416)
    if response.status_code == 206:
        assert len(response.content) == 1024


def test_many_overlapping_ranges_are_merged_not_amplified(client):
    header = "bytes=" + ",".join(["0-1023"] * 100)
    response = client.get("/file", headers={"range": header})
    assert (response.status_code, response.headers["content-range"]) == (206, "bytes 0-1023/1024")
    assert len(response.content) == 1024  # one copy, never 100


@pytest.mark.parametrize(("count", "status"), [(100, 206), (101, 200), (5000, 200)])
def test_more_than_100_ranges_get_the_whole_file(client, count, status):
    # Disjoint one-byte ranges, each a part of its own: past 100 of them the
    # whole file is cheaper (as Starlette 1.5.1+ answers).
    header = "bytes=" + ",".join(f"{2 * index}-{2 * index}" for index in range(count))
    response = client.get("/file", headers={"range": header})
    assert response.status_code == status
    if status == 200:
        assert response.content == bytes(range(256)) * 4
    else:
        assert response.headers["content-type"].startswith("multipart/byteranges; boundary=")
        assert response.content.count(b"Content-Range: bytes ") == count


@pytest.mark.parametrize("value", ["bytes=abc", "bytes=5-1", "pages=1-2", "bytes=", "bytes=--1"])
def test_malformed_range_is_never_500(client, value):
    response = client.get("/file", headers={"range": value})
    assert response.status_code in (200, 400, 416)


# -- response headers ------------------------------------------------------------


@pytest.mark.parametrize("value", ["a\r\nset-cookie: evil=1", "a\nb", "a\rb", "a\x00b"])
def test_crlf_in_response_header_values_is_refused(value):
    with pytest.raises(ValueError, match="header"):
        Response("x", headers={"x-injected": value})


def test_crlf_from_user_input_in_a_header_is_a_500_not_an_injection(paths):
    app = TrioAPI()

    @app.get("/redirect")
    async def redirect(to: str):
        return PlainTextResponse("moved", headers={"location": to})

    response = TestClient(app, raise_server_exceptions=False).get(
        "/redirect", params={"to": "/x\r\nset-cookie: evil=1"}
    )
    assert "set-cookie" not in response.headers
    assert response.status_code == 500


# -- Host spoofing and CORS ------------------------------------------------------


def test_trusted_host_refuses_spoofed_host():
    app = TrioAPI()
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=["example.com"])

    @app.get("/")
    async def root():
        return {"ok": True}

    client = TestClient(app, base_url="http://example.com")
    assert client.get("/").status_code == 200
    for host in [
        "evil.com",
        "example.com.evil.com",
        "evil.com#example.com",
        "example.com@evil.com",
        "",
    ]:
        response = client.get("/", headers={"host": host})
        assert response.status_code == 400, host
        assert response.text == "Invalid host header"


def test_cors_preflight_from_disallowed_origin_gets_no_allow_origin():
    app = TrioAPI()
    app.add_middleware(
        CORSMiddleware, allow_origins=["https://good.example"], allow_methods=["GET"]
    )

    @app.get("/")
    async def root():
        return {"ok": True}

    response = TestClient(app).options(
        "/",
        headers={"origin": "https://evil.example", "access-control-request-method": "GET"},
    )
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers
    simple = TestClient(app).get("/", headers={"origin": "https://evil.example"})
    assert "access-control-allow-origin" not in simple.headers


# -- production mode -------------------------------------------------------------


def test_production_mode_never_shows_a_traceback(client):
    response = client.get("/crash")
    assert response.status_code == 500
    assert response.text == "Internal Server Error"
    assert "secret internal detail" not in response.text
    assert "Traceback" not in response.text


# -- the same through a real hypercorn -------------------------------------------


async def raw_request(url: str, request: bytes) -> bytes:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    stream = await trio.open_tcp_stream(host, int(port))
    received = b""
    try:
        await stream.send_all(request)
        with trio.fail_after(5):
            while data := await stream.receive_some():
                received += data
                if b"\r\n\r\n" in received and b"connection: close" not in received.lower():
                    break
    except trio.BrokenResourceError:
        pass
    finally:
        await stream.aclose()
    return received


async def test_hostile_requests_through_hypercorn_get_4xx(paths):
    async with run_hypercorn(build_app(*paths)) as url:
        traversal = await raw_request(
            url, b"GET /static/%2e%2e%2fsecret.txt HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
        )
        bad_utf8 = await raw_request(
            url,
            b"GET /echo/x?q=%fe HTTP/1.1\r\nHost: a\r\nX-Token: \xff\xfe\r\n"
            b"Cookie: session=\xff\r\nConnection: close\r\n\r\n",
        )
        bad_path = await raw_request(
            url, b"GET /echo/%ff HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
        )
        async with httpx.AsyncClient(base_url=url) as client:
            bad_json = await client.post(
                "/items", content=b'{"name": ', headers={"content-type": "application/json"}
            )
            deep = await client.post(
                "/items", content=b"[" * 10_000, headers={"content-type": "application/json"}
            )
            ranges = await client.get(
                "/file", headers={"range": "bytes=" + ",".join(["0-1"] * 300)}
            )
            many = await client.get(
                "/file",
                headers={"range": "bytes=" + ",".join(f"{2 * i}-{2 * i}" for i in range(2000))},
            )
            crash = await client.get("/crash")
    assert traversal.startswith(b"HTTP/1.1 404")
    assert b"top secret" not in traversal
    assert bad_utf8.startswith(b"HTTP/1.1 200")
    assert bad_path.startswith(b"HTTP/1.1 400")
    assert bad_path.endswith(b'{"detail":"Invalid percent-encoding in the path: not UTF-8"}')
    assert bad_json.status_code == 422
    assert deep.status_code == 422
    assert (ranges.status_code, len(ranges.content)) == (200, 1024)  # over 100 ranges
    assert (many.status_code, many.content) == (200, bytes(range(256)) * 4)
    assert crash.status_code == 500
    assert crash.text == "Internal Server Error"
