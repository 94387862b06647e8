"""Hostile request bodies: trickling bodies, smuggled requests, form floods, cut-short multipart.

Each attack gets a clear 4xx (or a closed connection) quickly, with bounded
memory, and the server keeps serving; the rules are tested on the mock clock,
the served behaviour through a real hypercorn.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import trio

from tests.serving import needs_fix, run_hypercorn
from tests.trio_support import Exchange, http_scope
from trioapi import APIRouter, Request, TrioAPI
from trioapi import _receive as receive_module
from trioapi._scopes import RequestLimits
from trioapi._serve import serve_request
from trioapi.datastructures import Headers
from trioapi.exceptions import HTTPException
from trioapi.formparsers import FormParser, MultiPartException, MultiPartParser

# -- a body trickling in: the minimum body rate --------------------------------


def trickle(count: int, *, every: float, size: int = 1) -> Any:
    """A server ``receive`` that delivers ``count`` chunks of ``size`` bytes, one per ``every`` s."""
    left = [count]

    async def receive() -> dict[str, Any]:
        if left[0] == 0:
            await trio.sleep_forever()
        await trio.sleep(every)
        left[0] -= 1
        return {"type": "http.request", "body": b"x" * size, "more_body": left[0] > 0}

    return receive


async def read_with(limits: RequestLimits, receive: Any) -> tuple[Any, float]:
    """Serve one request whose app reads the whole body: (size or refusal, time it ended)."""
    outcome: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        size = 0
        try:
            while True:
                message = await receive()
                size += len(message.get("body", b""))
                if not message.get("more_body"):
                    break
        except HTTPException as exc:
            outcome.append((exc.status_code, exc.detail))
        else:
            outcome.append(size)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def send(message: dict[str, Any]) -> None:
        pass

    scope = http_scope("/", "POST", [(b"transfer-encoding", b"chunked")])
    await serve_request(app, scope, receive, send, limits=limits)
    return outcome[0], trio.current_time()


async def test_a_body_trickling_one_byte_a_second_is_cut_after_the_grace_period(autojump_clock):
    # Default: 500 bytes/s after 10 s. Byte n arrives at n s; the read that
    # waits for byte 11 may wait until 10 + 10/500 s.
    refused, at = await read_with(RequestLimits(body_timeout=None), trickle(10_000, every=1))
    assert refused == (408, "Request body was received too slowly")
    assert at == pytest.approx(10.02)


async def test_each_min_body_rate_bytes_buy_one_more_second(autojump_clock):
    # 100 bytes every 0.75 s is 133 bytes/s: under a minimum of 250, the
    # read that waits at 20.25 s (2,700 bytes in) may wait until
    # 10 + 2,700 / 250 = 20.8 s, and the next chunk comes at 21 s.
    refused, at = await read_with(
        RequestLimits(body_timeout=None, min_body_rate=250), trickle(1000, every=0.75, size=100)
    )
    assert refused == (408, "Request body was received too slowly")
    assert at == pytest.approx(10 + 2_700 / 250)


async def test_a_body_at_the_minimum_rate_or_faster_is_read_whole(autojump_clock):
    size, at = await read_with(
        RequestLimits(body_timeout=None, min_body_rate=500), trickle(300, every=1, size=500)
    )
    assert (size, at) == (150_000, pytest.approx(300))


async def test_min_body_rate_none_lets_a_trickle_through(autojump_clock):
    size, at = await read_with(
        RequestLimits(body_timeout=None, min_body_rate=None), trickle(50, every=1)
    )
    assert (size, at) == (50, pytest.approx(50))


async def test_the_read_deadline_still_applies_when_it_comes_first(autojump_clock):
    refused, at = await read_with(
        RequestLimits(body_timeout=4, min_body_rate=500), trickle(100, every=1)
    )
    assert refused == (408, "Request body was not received in time")
    assert at == pytest.approx(4)


def add_size(router: Any, path: str, **options: Any) -> None:
    @router.post(path, **options)
    async def size(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}


async def post_trickle(app: TrioAPI, path: str) -> Exchange:
    exchange = Exchange()

    async def send(message: dict[str, Any]) -> None:
        exchange.sent.append(message)

    scope = http_scope(path, "POST", [(b"content-length", b"30")])
    await app(scope, trickle(30, every=1), send)
    return exchange


async def test_min_body_rate_is_set_on_the_app_a_router_an_include_and_a_route(autojump_clock):
    app = TrioAPI(min_body_rate=None)
    add_size(app, "/app")
    add_size(app, "/route", min_body_rate=1000)
    router = APIRouter(min_body_rate=1000)
    add_size(router, "/router")
    add_size(router, "/router-lifted", min_body_rate=None)
    app.include_router(router)
    included = APIRouter()
    add_size(included, "/included")
    app.include_router(included, min_body_rate=1000)
    statuses = {
        path: (await post_trickle(app, path)).status
        for path in ["/app", "/route", "/router", "/router-lifted", "/included"]
    }
    assert statuses == {
        "/app": 200,
        "/route": 408,
        "/router": 408,
        "/router-lifted": 200,
        "/included": 408,
    }


async def test_a_trickling_body_is_cut_through_hypercorn_and_others_are_served(monkeypatch):
    monkeypatch.setattr(receive_module, "BODY_RATE_GRACE", 0.3)
    app = TrioAPI(min_body_rate=100)
    add_size(app, "/upload")
    async with run_hypercorn(app) as url:
        host, port = url.removeprefix("http://").rsplit(":", 1)
        stream = await trio.open_tcp_stream(host, int(port))
        received = b""
        with trio.fail_after(10):
            await stream.send_all(
                b"POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n"
            )
            async with httpx.AsyncClient(base_url=url) as client:
                sent = 0
                while b"\r\n\r\n" not in received:
                    # One byte every 50 ms (20 bytes/s) while others are served.
                    with trio.move_on_after(0.05):
                        received += await stream.receive_some()
                    if b"\r\n\r\n" not in received:
                        await stream.send_all(b"x")
                        sent += 1
                        other = await client.post("/upload", content=b"y" * 10)
                        assert other.json() == {"size": 10}
            with contextlib.suppress(trio.BrokenResourceError):
                while data := await stream.receive_some():  # the server closes the connection
                    received += data
        await stream.aclose()
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408")
    assert b"connection: close" in head.lower()
    assert body == b'{"detail":"Request body was received too slowly"}'
    assert sent < 1000


# -- Content-Length and Transfer-Encoding together: no request smuggling --------


@needs_fix("ambiguous-framing")
async def test_a_request_with_both_content_length_and_transfer_encoding_is_400_and_closed():
    app = TrioAPI()
    ran: list[str] = []

    @app.post("/a")
    async def post_a(request: Request) -> dict[str, int]:
        ran.append("a")
        return {"size": len(await request.body())}

    @app.get("/admin")
    async def admin() -> dict[str, bool]:
        ran.append("admin")
        return {"admin": True}

    smuggled = b"GET /admin HTTP/1.1\r\nHost: a\r\n\r\n"
    body = b"0\r\n\r\n" + smuggled
    request = (
        b"POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n" % len(body)
    ) + body
    async with run_hypercorn(app) as url:
        host, port = url.removeprefix("http://").rsplit(":", 1)
        stream = await trio.open_tcp_stream(host, int(port))
        received = b""
        with trio.fail_after(5):
            await stream.send_all(request)
            while data := await stream.receive_some():  # until the server closes it
                received += data
        await stream.aclose()
        async with httpx.AsyncClient(base_url=url) as client:
            after = await client.get("/admin")
    head, _, rest = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400")
    assert b"connection: close" in head.lower()
    assert b"content-length: 0" in head.lower()
    assert rest == b""  # nothing after the 400: the smuggled request never ran
    assert (after.status_code, ran) == (200, ["admin"])


# -- form floods: limits decided while reading ----------------------------------


class CountingStream:
    """A body in chunks that records how many were read."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.read = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            self.read += 1
            yield chunk


def urlencoded_chunks(fields: int, per_chunk: int = 100) -> list[bytes]:
    pairs = [f"f{index}=v" for index in range(fields)]
    return [
        ("&".join(pairs[start : start + per_chunk]) + "&").encode()
        for start in range(0, fields, per_chunk)
    ]


async def test_a_urlencoded_form_over_the_field_limit_is_refused_while_reading():
    stream = CountingStream(urlencoded_chunks(100_000))
    parser = FormParser(Headers(), stream, max_fields=1000)
    with pytest.raises(
        MultiPartException, match=r"Too many fields. Maximum number of fields is 1000."
    ):
        await parser.parse()
    assert stream.read == 11  # the chunk holding field 1001, not the 1000 chunks


async def test_a_urlencoded_field_over_the_part_size_is_refused_within_its_chunk():
    # One 50 MB chunk: refused once the field passes 1 KiB, not copied whole.
    body = b"field=" + b"x" * (50 * 1024 * 1024)
    parser = FormParser(Headers(), CountingStream([body]), max_part_size=1024)
    with pytest.raises(MultiPartException, match=r"^Field exceeded maximum size of 1KB.$"):
        await parser.parse()
    assert len(parser._field_value) <= 1024


async def test_a_urlencoded_form_at_the_field_limit_is_accepted():
    form = await FormParser(
        Headers(), CountingStream(urlencoded_chunks(1000)), max_fields=1000
    ).parse()
    assert len(form.multi_items()) == 1000


def multipart_chunks(files: int, per_chunk: int = 100) -> list[bytes]:
    parts = [
        f'--B\r\nContent-Disposition: form-data; name="f"; filename="{index}"\r\n\r\nx\r\n'.encode()
        for index in range(files)
    ]
    chunks = [b"".join(parts[start : start + per_chunk]) for start in range(0, files, per_chunk)]
    chunks[-1] += b"--B--\r\n"
    return chunks


MULTIPART = Headers({"content-type": "multipart/form-data; boundary=B"})


async def test_a_multipart_flood_of_tiny_files_is_refused_as_the_limit_is_crossed():
    stream = CountingStream(multipart_chunks(100_000))
    parser = MultiPartParser(MULTIPART, stream, max_files=1000)
    with pytest.raises(
        MultiPartException, match=r"Too many files. Maximum number of files is 1000."
    ):
        await parser.parse()
    assert stream.read == 11
    assert all(upload.file.closed for upload in parser._opened)


def flood_app() -> TrioAPI:
    app = TrioAPI()

    @app.post("/form")
    async def form(request: Request) -> dict[str, int]:
        return {"items": len((await request.form()).multi_items())}

    return app


async def post_flood(client: httpx.AsyncClient, body: bytes, content_type: str) -> object:
    """The answer to a flood: its (status, body).

    The server answers 400 while the client is still sending, then closes the
    connection, saying so (fix early-answer-close) and reading on until the
    client stops sending (fix lingering-close), so no reset takes the answer
    (tests/test_server_early_answers.py: the same over TLS and HTTP/2).
    """
    response = await client.post("/form", content=body, headers={"content-type": content_type})
    return response.status_code, response.json()


@needs_fix("early-answer-close")
@needs_fix("lingering-close")
async def test_form_floods_through_hypercorn_are_400_and_the_server_keeps_serving():
    urlencoded = b"".join(urlencoded_chunks(100_000))
    multipart = b"".join(multipart_chunks(100_000))
    async with run_hypercorn(flood_app()) as url, httpx.AsyncClient(base_url=url) as client:
        fields = await post_flood(client, urlencoded, "application/x-www-form-urlencoded")
        files = await post_flood(client, multipart, "multipart/form-data; boundary=B")
        fine = await client.post("/form", data={"a": "1", "b": "2"})
    assert fields == (400, {"detail": "Too many fields. Maximum number of fields is 1000."})
    assert files == (400, {"detail": "Too many files. Maximum number of files is 1000."})
    assert (fine.status_code, fine.json()) == (200, {"items": 2})


# -- multipart cut short, and the part-header limits ----------------------------


async def test_a_multipart_body_without_its_closing_boundary_is_refused():
    body = b'--B\r\nContent-Disposition: form-data; name="a"\r\n\r\nvalue\r\n'
    parser = MultiPartParser(MULTIPART, CountingStream([body]))
    with pytest.raises(MultiPartException, match="ends before its closing boundary"):
        await parser.parse()


async def test_a_file_part_cut_short_is_refused_and_its_file_closed():
    body = b'--B\r\nContent-Disposition: form-data; name="f"; filename="a.txt"\r\n\r\nhalf a fi'
    parser = MultiPartParser(MULTIPART, CountingStream([body]))
    with pytest.raises(MultiPartException, match="ends before its closing boundary"):
        await parser.parse()
    assert [upload.file.closed for upload in parser._opened] == [True]


async def test_an_empty_multipart_body_is_an_empty_form():
    form = await MultiPartParser(MULTIPART, CountingStream([])).parse()
    assert form.multi_items() == []


def part_with_headers(count: int, value_size: int = 1) -> bytes:
    extra = "".join(f"X-H{index}: {'v' * value_size}\r\n" for index in range(count - 1))
    return (
        f'--B\r\nContent-Disposition: form-data; name="a"\r\n{extra}\r\nvalue\r\n--B--\r\n'
    ).encode()


@pytest.mark.parametrize("parser_checks", [True, False], ids=["python-multipart", "own-check"])
async def test_part_header_count_and_size_limits(monkeypatch, parser_checks):
    # Older python-multipart releases have no header limits: then the parser
    # here checks them itself, with the same messages.
    import trioapi.formparsers

    monkeypatch.setattr(trioapi.formparsers, "_PARSER_HAS_HEADER_LIMITS", parser_checks)

    async def parse(body: bytes, **limits: Any) -> Any:
        return await MultiPartParser(MULTIPART, CountingStream([body]), **limits).parse()

    assert (await parse(part_with_headers(3), max_header_count=3))["a"] == "value"
    with pytest.raises(MultiPartException, match=r"^Invalid multipart data.$"):
        await parse(part_with_headers(4), max_header_count=3)
    assert (await parse(part_with_headers(2, 100), max_header_size=200))["a"] == "value"
    with pytest.raises(MultiPartException, match=r"^Invalid multipart data.$"):
        await parse(part_with_headers(2, 300), max_header_size=200)


def header_app(**settings: Any) -> TrioAPI:
    app = TrioAPI(**settings)

    @app.post("/form")
    async def form(request: Request) -> dict[str, str]:
        return {"a": str((await request.form())["a"])}

    @app.post("/many", max_form_header_count=20)
    async def many(request: Request) -> dict[str, str]:
        return {"a": str((await request.form())["a"])}

    @app.post("/explicit")
    async def explicit(request: Request) -> dict[str, str]:
        return {"a": str((await request.form(max_header_count=1))["a"])}

    return app


async def test_part_header_limits_are_settings_and_cut_short_bodies_are_400_through_hypercorn():
    headers = {"content-type": "multipart/form-data; boundary=B"}
    async with (
        run_hypercorn(header_app(max_form_header_size=100)) as url,
        httpx.AsyncClient(base_url=url, headers=headers) as client,
    ):
        default_count = await client.post("/form", content=part_with_headers(9))
        route_count = await client.post("/many", content=part_with_headers(9))
        explicit = await client.post("/explicit", content=part_with_headers(2))
        too_long = await client.post("/form", content=part_with_headers(2, 200))
        cut_short = await client.post("/form", content=part_with_headers(1)[: -len(b"--B--\r\n")])
        fine = await client.post("/form", content=part_with_headers(2))
    invalid = {"detail": "Invalid multipart data."}
    assert [
        (response.status_code, response.json())
        for response in (default_count, route_count, explicit, too_long, cut_short, fine)
    ] == [
        (400, invalid),
        (200, {"a": "value"}),
        (400, invalid),
        (400, invalid),
        (400, {"detail": "Invalid multipart data: the body ends before its closing boundary."}),
        (200, {"a": "value"}),
    ]
