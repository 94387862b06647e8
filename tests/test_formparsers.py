"""Tests for trioapi.formparsers: the streaming urlencoded and multipart parsers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trioapi.datastructures import FormData, Headers, UploadFile
from trioapi.exceptions import HTTPException
from trioapi.formparsers import FormParser, MultiPartException, MultiPartParser

BOUNDARY = "xYzZY"
MULTIPART_HEADERS = Headers({"content-type": f"multipart/form-data; boundary={BOUNDARY}"})
URLENCODED_HEADERS = Headers({"content-type": "application/x-www-form-urlencoded"})


async def chunks_of(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]
    yield b""


def multipart(*parts: str) -> bytes:
    return "".join(f"--{BOUNDARY}\r\n{part}\r\n" for part in parts).encode() + (
        f"--{BOUNDARY}--\r\n".encode()
    )


def parse_multipart(body: bytes, size: int = 7, **limits: int) -> MultiPartParser:
    return MultiPartParser(MULTIPART_HEADERS, chunks_of(body, size), **limits)


@pytest.mark.parametrize("size", [1, 3, 1000])
async def test_urlencoded_fields_survive_any_chunking(size: int) -> None:
    body = b"a=1&b=two+words&c=%E2%82%AC&a=3&novalue"
    form = await FormParser(URLENCODED_HEADERS, chunks_of(body, size)).parse()
    assert form.multi_items() == [
        ("a", "1"),
        ("b", "two words"),
        ("c", "€"),
        ("a", "3"),
        ("novalue", ""),
    ]


async def test_urlencoded_empty_body_is_an_empty_form() -> None:
    form = await FormParser(URLENCODED_HEADERS, chunks_of(b"", 1)).parse()
    assert form.multi_items() == []


@pytest.mark.parametrize("size", [1, 5, 4096])
async def test_multipart_fields_and_file_survive_any_chunking(size: int) -> None:
    body = multipart(
        'Content-Disposition: form-data; name="field"\r\n\r\nvalue with\r\nnewline',
        'Content-Disposition: form-data; name="doc"; filename="r\u00e9sum\u00e9.txt"\r\n'
        "Content-Type: text/plain\r\nX-Extra: 1\r\n\r\nfile body",
    )
    form = await parse_multipart(body, size).parse()
    assert form["field"] == "value with\r\nnewline"
    upload = form["doc"]
    assert isinstance(upload, UploadFile)
    assert upload.filename == "résumé.txt"
    assert upload.size == 9
    assert upload.headers["x-extra"] == "1"
    assert await upload.read() == b"file body"
    await form.close()


async def test_multipart_large_file_rolls_to_disk_and_reads_back() -> None:
    content = bytes(range(256)) * 8192  # 2 MiB, past the 1 MiB spool size
    body = (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="f"; filename="big"\r\n\r\n'
        ).encode()
        + content
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    form = await parse_multipart(body, 65536).parse()
    upload = form["f"]
    assert isinstance(upload, UploadFile)
    assert upload.size == len(content)
    assert await upload.read() == content
    await form.close()
    assert upload.file.closed


async def test_multipart_empty_filename_is_still_a_file() -> None:
    body = multipart('Content-Disposition: form-data; name="f"; filename=""\r\n\r\n')
    form = await parse_multipart(body).parse()
    upload = form["f"]
    assert isinstance(upload, UploadFile)
    assert upload.filename == ""
    assert await upload.read() == b""
    await form.close()


async def test_multipart_field_uses_the_part_charset() -> None:
    body = (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="n"\r\n'
            "Content-Type: text/plain; charset=latin-1\r\n\r\n"
        ).encode()
        + b"caf\xe9"
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    form = await parse_multipart(body).parse()
    assert form["n"] == "café"


async def test_multipart_invalid_utf8_is_read_as_latin1_not_raised() -> None:
    body = (
        (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="n"\r\n\r\n').encode()
        + b"\xff\xfe"
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    form = await parse_multipart(body).parse()
    assert form["n"] == "\xff\xfe"  # as Starlette 1.10 reads bytes that are not UTF-8


async def test_multipart_unknown_charset_falls_back_to_utf8() -> None:
    headers = Headers({"content-type": f"multipart/form-data; charset=nope; boundary={BOUNDARY}"})
    body = multipart('Content-Disposition: form-data; name="n"\r\n\r\nok')
    form = await MultiPartParser(headers, chunks_of(body, 4)).parse()
    assert form["n"] == "ok"


async def test_missing_boundary_raises_multipart_exception() -> None:
    headers = Headers({"content-type": "multipart/form-data"})
    with pytest.raises(MultiPartException, match="Missing boundary in multipart."):
        await MultiPartParser(headers, chunks_of(b"", 1)).parse()


async def test_too_many_files_raises_and_closes_opened_files() -> None:
    body = multipart(
        *(f'Content-Disposition: form-data; name="f"; filename="{i}"\r\n\r\n{i}' for i in range(3))
    )
    parser = parse_multipart(body, max_files=2)
    with pytest.raises(MultiPartException, match=r"Too many files. Maximum number of files is 2\."):
        await parser.parse()
    opened = parser._opened
    assert len(opened) == 2
    assert all(upload.file.closed for upload in opened)


async def test_too_many_fields_raises() -> None:
    body = multipart(*(f'Content-Disposition: form-data; name="f{i}"\r\n\r\nv' for i in range(3)))
    with pytest.raises(MultiPartException, match=r"Maximum number of fields is 2\."):
        await parse_multipart(body, max_fields=2).parse()


async def test_field_over_max_part_size_raises_but_files_do_not() -> None:
    big = "x" * 2048
    body = multipart(f'Content-Disposition: form-data; name="f"\r\n\r\n{big}')
    with pytest.raises(MultiPartException, match="Part exceeded maximum size of 1KB."):
        await parse_multipart(body, max_part_size=1024).parse()
    body = multipart(f'Content-Disposition: form-data; name="f"; filename="a"\r\n\r\n{big}')
    form = await parse_multipart(body, max_part_size=1024).parse()
    upload = form["f"]
    assert isinstance(upload, UploadFile)
    assert upload.size == 2048
    await form.close()


async def test_malformed_multipart_raises_multipart_exception() -> None:
    body = f"--{BOUNDARY}\r\nno colon header line\r\n\r\nx\r\n--{BOUNDARY}--\r\n".encode()
    with pytest.raises(MultiPartException, match=r"^Invalid multipart data.$"):
        await parse_multipart(body).parse()


async def test_body_that_ends_mid_file_is_refused_and_closes_the_unfinished_file() -> None:
    body = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="f"; filename="a"\r\n\r\npart'
    parser = parse_multipart(body.encode())
    with pytest.raises(MultiPartException, match="ends before its closing boundary"):
        await parser.parse()
    assert len(parser._opened) == 1
    assert parser._opened[0].file.closed


async def test_error_from_the_stream_closes_opened_files() -> None:
    class Boom(Exception):
        pass

    async def failing_stream() -> AsyncIterator[bytes]:
        yield f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="f"; filename="a"\r\n\r\nxx'.encode()
        raise Boom

    parser = MultiPartParser(MULTIPART_HEADERS, failing_stream())
    with pytest.raises(Boom):
        await parser.parse()
    assert len(parser._opened) == 1
    assert parser._opened[0].file.closed


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.one_of(
        st.binary(max_size=400),
        st.lists(
            st.sampled_from(
                [
                    f"--{BOUNDARY}",
                    f"--{BOUNDARY}--",
                    "\r\n",
                    "Content-Disposition: form-data",
                    '; name="a"',
                    '; filename="f"',
                    "Content-Type: text/plain; charset=utf-16",
                    ":",
                    "value",
                    "\x00\xff",
                ]
            ),
            max_size=30,
        ).map(lambda pieces: "".join(pieces).encode("latin-1")),
    ),
    size=st.integers(min_value=1, max_value=64),
)
def test_arbitrary_multipart_bytes_give_a_form_or_a_client_error(body: bytes, size: int) -> None:
    async def main() -> FormData | Exception:
        try:
            form = await parse_multipart(body, size, max_fields=5, max_files=5).parse()
        except (MultiPartException, HTTPException) as exc:
            return exc
        await form.close()
        return form

    result = trio.run(main)
    if isinstance(result, HTTPException):
        assert result.status_code == 400
    else:
        assert isinstance(result, FormData | MultiPartException)


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=300), size=st.integers(min_value=1, max_value=32))
def test_arbitrary_urlencoded_bytes_give_a_form_of_strings(body: bytes, size: int) -> None:
    async def main() -> FormData:
        return await FormParser(URLENCODED_HEADERS, chunks_of(body, size)).parse()

    form = trio.run(main)
    assert all(isinstance(key, str) and isinstance(value, str) for key, value in form.multi_items())


def test_form_message_is_deprecated():
    from trioapi.exceptions import TrioAPIDeprecationWarning
    from trioapi.formparsers import FormMessage

    with pytest.warns(TrioAPIDeprecationWarning, match="`FormMessage` is deprecated"):
        assert FormMessage(5).name == "END"
