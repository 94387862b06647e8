"""FileResponse: whole files, HEAD, If-Range and Range requests."""

from __future__ import annotations

import hashlib
import os
import re
from email.utils import formatdate
from pathlib import Path
from typing import Any

import pytest
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_responses import Sent, call, http_scope
from trioapi._fileresponse import (
    FileResponse,
    MalformedRangeHeader,
    RangeNotSatisfiable,
    parse_range_header,
)
from trioapi.background import BackgroundTask
from trioapi.types import Message

CONTENT = b"0123456789"


@pytest.fixture
def file(tmp_path: Path) -> Path:
    path = tmp_path / "digits.txt"
    path.write_bytes(CONTENT)
    return path


def expected_etag(path: Path) -> str:
    stat_result = path.stat()
    base = f"{stat_result.st_mtime}-{stat_result.st_size}".encode()
    return '"' + hashlib.md5(base, usedforsecurity=False).hexdigest() + '"'


def ranged(path: Path, value: str, *, method: str = "GET", **headers: str) -> dict[str, Any]:
    extra = [(name.replace("_", "-"), text) for name, text in headers.items()]
    return http_scope(method=method, headers=[("range", value), *extra])


# --- whole files ----------------------------------------------------------------


async def test_file_response_sends_the_file_with_its_headers(file: Path) -> None:
    sent = await call(FileResponse(file))
    stat_result = file.stat()
    assert sent.status == 200
    assert sent.headers == [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"accept-ranges", b"bytes"),
        (b"content-length", b"10"),
        (b"last-modified", formatdate(stat_result.st_mtime, usegmt=True).encode()),
        (b"etag", expected_etag(file).encode()),
    ]
    assert sent.messages[1:] == [
        {"type": "http.response.body", "body": CONTENT, "more_body": False}
    ]


async def test_large_file_is_sent_in_64_kib_chunks(tmp_path: Path) -> None:
    data = os.urandom(64 * 1024 * 2 + 5)
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    sent = await call(FileResponse(path))
    assert [len(m["body"]) for m in sent.messages[1:]] == [65536, 65536, 5]
    assert [m["more_body"] for m in sent.messages[1:]] == [True, True, False]
    assert sent.body == data
    assert sent.header("content-type") == "application/octet-stream"


async def test_empty_file_sends_an_empty_body(tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    sent = await call(FileResponse(path))
    assert sent.header("content-length") == "0"
    assert sent.messages[1:] == [{"type": "http.response.body", "body": b"", "more_body": False}]


async def test_head_sends_headers_only(file: Path) -> None:
    sent = await call(FileResponse(file), http_scope(method="HEAD"))
    assert sent.status == 200
    assert sent.header("content-length") == "10"
    assert sent.messages[1:] == [{"type": "http.response.body", "body": b"", "more_body": False}]


@pytest.mark.parametrize(
    ("name", "media_type"),
    [
        ("page.html", "text/html; charset=utf-8"),
        ("image.png", "image/png"),
        ("data.unknownext", "application/octet-stream"),
    ],
)
def test_media_type_is_guessed_from_the_name(tmp_path: Path, name: str, media_type: str) -> None:
    assert FileResponse(tmp_path / name).headers["content-type"] == media_type


def test_media_type_is_guessed_from_filename_before_path(tmp_path: Path) -> None:
    response = FileResponse(tmp_path / "blob", filename="report.json")
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-disposition"] == 'attachment; filename="report.json"'


def test_non_ascii_filename_uses_rfc_5987(tmp_path: Path) -> None:
    response = FileResponse(
        tmp_path / "x", filename="résumé 1.pdf", content_disposition_type="inline"
    )
    assert (
        response.headers["content-disposition"]
        == "inline; filename*=utf-8''r%C3%A9sum%C3%A9%201.pdf"
    )


def test_stat_result_given_up_front_sets_the_headers_at_once(file: Path) -> None:
    response = FileResponse(file, stat_result=file.stat(), headers={"ETag": '"mine"'})
    assert response.headers["content-length"] == "10"
    assert response.headers["etag"] == '"mine"'
    assert "last-modified" in response.headers


def test_method_argument_is_deprecated(file: Path) -> None:
    with pytest.warns(DeprecationWarning, match="'method' parameter is unused"):
        FileResponse(file, method="GET")


async def test_missing_file_raises_runtime_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=r"File at path .*missing\.txt does not exist\."):
        await call(FileResponse(tmp_path / "missing.txt"))


async def test_directory_raises_runtime_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=r"is not a file\."):
        await call(FileResponse(tmp_path))


async def test_background_runs_after_the_file_is_sent(file: Path) -> None:
    events: list[str] = []

    async def send(message: Message) -> None:
        events.append(message["type"])

    response = FileResponse(file, background=BackgroundTask(events.append, "background"))
    await response(http_scope(), trio.sleep_forever, send)
    assert events == ["http.response.start", "http.response.body", "background"]


# --- Range ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "content_range", "body"),
    [
        ("bytes=0-4", "bytes 0-4/10", b"01234"),
        ("bytes=3-3", "bytes 3-3/10", b"3"),
        ("bytes=7-", "bytes 7-9/10", b"789"),
        ("bytes=8-100", "bytes 8-9/10", b"89"),
        ("bytes=-3", "bytes 7-9/10", b"789"),
        ("bytes=-50", "bytes 0-9/10", CONTENT),
        ("BYTES = 1-2", "bytes 1-2/10", b"12"),
        ("bytes=0-3,2-5", "bytes 0-5/10", b"012345"),
        ("bytes=4-5,0-3", "bytes 0-5/10", b"012345"),
        ("bytes=1-2,,", "bytes 1-2/10", b"12"),
    ],
)
async def test_single_range_is_a_206_with_content_range(
    file: Path, value: str, content_range: str, body: bytes
) -> None:
    sent = await call(FileResponse(file), ranged(file, value))
    assert sent.status == 206
    assert sent.header("content-range") == content_range
    assert sent.header("content-length") == str(len(body))
    assert sent.header("content-type") == "text/plain; charset=utf-8"
    assert sent.header("etag") == expected_etag(file)
    assert sent.body == body
    assert sent.messages[-1]["more_body"] is False


async def test_multiple_ranges_are_sent_as_multipart_byteranges(file: Path) -> None:
    sent = await call(FileResponse(file), ranged(file, "bytes=0-1,5-6,-1"))
    assert sent.status == 206
    content_type = sent.header("content-type")
    assert content_type is not None
    match = re.fullmatch(r"multipart/byteranges; boundary=([0-9a-f]{26})", content_type)
    assert match is not None
    boundary = match.group(1)
    expected = (
        f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Range: bytes 0-1/10\r\n\r\n01\r\n"
        f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Range: bytes 5-6/10\r\n\r\n56\r\n"
        f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Range: bytes 9-9/10\r\n\r\n9\r\n"
        f"--{boundary}--"
    ).encode()
    assert sent.body == expected
    assert sent.header("content-length") == str(len(expected))
    assert sent.header("content-range") is None
    assert sent.messages[-1]["more_body"] is False


async def test_multipart_boundary_is_random(file: Path) -> None:
    first = await call(FileResponse(file), ranged(file, "bytes=0-1,5-6"))
    second = await call(FileResponse(file), ranged(file, "bytes=0-1,5-6"))
    assert first.header("content-type") != second.header("content-type")


async def test_head_with_range_sends_headers_only(file: Path) -> None:
    single = await call(FileResponse(file), ranged(file, "bytes=0-4", method="HEAD"))
    assert (single.status, single.header("content-length"), single.body) == (206, "5", b"")
    multi = await call(FileResponse(file), ranged(file, "bytes=0-1,4-5", method="HEAD"))
    assert multi.status == 206
    assert multi.body == b""
    assert int(multi.header("content-length") or 0) > 4


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("bytes=abc", b"Range header: range must be requested"),
        ("items=0-1", b"Only support bytes range"),
        ("bytes=5-2", b"Range header: start must be less than end"),
        ("bytes=", b"Range header: range must be requested"),
        ("bytes=-", b"Range header: range must be requested"),
        ("bytes 0-1", b"Malformed range header."),
        ("bytes=1-2-3", b"Range header: range must be requested"),
        ("bytes=0x1-2", b"Range header: range must be requested"),
    ],
)
async def test_malformed_range_is_a_400_with_starlettes_message(
    file: Path, value: str, message: bytes
) -> None:
    sent = await call(FileResponse(file), ranged(file, value))
    assert sent.status == 400
    assert sent.body == message


@pytest.mark.parametrize(("value", "body"), [("bytes=0-1,x", b"01"), ("bytes=+1-2", b"12")])
async def test_unusable_pieces_of_a_range_are_skipped(file: Path, value: str, body: bytes) -> None:
    sent = await call(FileResponse(file), ranged(file, value))
    assert (sent.status, sent.body) == (206, body)


async def test_weak_if_range_and_non_get_methods_get_the_whole_file(file: Path) -> None:
    weak = await call(FileResponse(file), ranged(file, "bytes=0-0", if_range='W/"x"'))
    posted = await call(FileResponse(file), ranged(file, "bytes=0-0", method="POST"))
    assert (weak.status, weak.body) == (200, CONTENT)
    assert (posted.status, posted.body) == (200, CONTENT)


async def test_path_send_extension_lets_the_server_send_the_file(file: Path) -> None:
    scope = http_scope()
    scope["extensions"] = {"http.response.pathsend": {}}
    sent = await call(FileResponse(file), scope)
    assert [m["type"] for m in sent.messages] == ["http.response.start", "http.response.pathsend"]
    assert sent.messages[1]["path"] == str(file)


# As Starlette: one range starting past the end makes the whole header unsatisfiable.
@pytest.mark.parametrize(
    "value", ["bytes=10-", "bytes=100-200", "bytes=-0", "bytes=10-20,30-40", "bytes=0-1, 100-200"]
)
async def test_unsatisfiable_range_is_a_416_with_the_size(file: Path, value: str) -> None:
    events: list[str] = []
    response = FileResponse(file, background=BackgroundTask(events.append, "background"))
    sent = await call(response, ranged(file, value))
    assert sent.status == 416
    assert sent.header("content-range") == "bytes */10"
    assert sent.body == b""
    assert events == ["background"]


async def test_if_range_with_current_etag_or_date_serves_the_range(file: Path) -> None:
    last_modified = formatdate(file.stat().st_mtime, usegmt=True)
    for validator in (expected_etag(file), last_modified):
        sent = await call(FileResponse(file), ranged(file, "bytes=0-0", if_range=validator))
        assert (sent.status, sent.body) == (206, b"0")


async def test_if_range_with_stale_validator_serves_the_whole_file(file: Path) -> None:
    for validator in ('"stale"', "Thu, 01 Jan 1970 00:00:00 GMT"):
        sent = await call(FileResponse(file), ranged(file, "bytes=0-0", if_range=validator))
        assert (sent.status, sent.body) == (200, CONTENT)


async def test_stale_if_range_wins_over_a_malformed_range(file: Path) -> None:
    sent = await call(FileResponse(file), ranged(file, "garbage", if_range='"stale"'))
    assert sent.status == 200


async def test_range_is_ignored_when_the_status_is_not_200(file: Path) -> None:
    sent = await call(FileResponse(file, status_code=404), ranged(file, "bytes=0-0"))
    assert (sent.status, sent.body) == (404, CONTENT)


def test_parse_range_header_merges_and_sorts() -> None:
    assert parse_range_header("bytes=5-6,0-1,1-2,7-7", 10) == [(0, 3), (5, 8)]
    assert parse_range_header("bytes=0-0,2-2", 10) == [(0, 1), (2, 3)]
    assert parse_range_header("bytes=0-99999999999999999999999999", 10) == [(0, 10)]
    assert parse_range_header("bytes=-99999999999999999999999999", 10) == [(0, 10)]


def test_parse_range_header_errors() -> None:
    with pytest.raises(MalformedRangeHeader, match="Only support bytes range"):
        parse_range_header("lines=1-2", 10)
    with pytest.raises(MalformedRangeHeader, match="range must be requested"):
        parse_range_header("bytes= , ", 10)
    with pytest.raises(RangeNotSatisfiable) as info:
        parse_range_header("bytes=0-", 0)
    assert info.value.size == 0


# --- property: any Range header gives 200/206/400/416, never an exception ----

_range_spec = st.one_of(
    st.tuples(st.integers(0, 30), st.none() | st.integers(0, 30)).map(
        lambda t: f"{t[0]}-{'' if t[1] is None else t[1]}"
    ),
    st.integers(0, 30).map(lambda n: f"-{n}"),
    st.text(alphabet="0123456789-, =ab", max_size=8),
)
_range_header = st.one_of(
    st.lists(_range_spec, max_size=5).map(lambda specs: "bytes=" + ",".join(specs)),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=40),
)


@pytest.fixture(scope="module")
def shared_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ranges") / "digits.bin"
    path.write_bytes(b"abcdefghijklmnopqrstuvwxyz")
    return path


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=_range_header)
async def test_any_range_header_gives_200_206_400_or_416(shared_file: Path, value: str) -> None:
    sent = Sent()
    scope = http_scope(headers=[("range", value)])
    await FileResponse(shared_file)(scope, trio.sleep_forever, sent)
    assert sent.status in (200, 206, 400, 416)
    if sent.status != 416:
        assert sent.header("content-length") == str(len(sent.body))
    if sent.status == 206 and sent.header("content-range") is not None:
        match = re.fullmatch(r"bytes (\d+)-(\d+)/26", sent.header("content-range") or "")
        assert match is not None
        start, end = int(match.group(1)), int(match.group(2))
        assert sent.body == b"abcdefghijklmnopqrstuvwxyz"[start : end + 1]
