"""An answer sent before the request body is in reaches the client, through hypercorn.

A form refused at its 1,001st field is answered 400 while the client still
sends. Three server-layer fixes make that answer arrive whole, whatever the
transport: ``early-answer-close`` (HTTP/1.1: the answer says
``Connection: close``), ``lingering-close`` (HTTP/1.1: the server reads on
until the client stops sending, so the close is no reset that takes the
answer with it) and ``h2-late-data`` (HTTP/2: body frames of the answered
stream no longer end the worker).
"""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest
import trio
import trustme

from tests.serving import needs_fix, run_hypercorn
from tests.test_hostile_bodies import flood_app, multipart_chunks, urlencoded_chunks
from tests.test_teardown_served import host_port

FIELDS_REFUSED = (400, {"detail": "Too many fields. Maximum number of fields is 1000."})
FILES_REFUSED = (400, {"detail": "Too many files. Maximum number of files is 1000."})
URLENCODED = "application/x-www-form-urlencoded"

needs_http1_fixes = [needs_fix("early-answer-close"), needs_fix("lingering-close")]


def tls_settings(tmp_path: Path) -> tuple[dict[str, str], ssl.SSLContext]:
    """hypercorn's certificate settings and a client context that trusts them."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    return {"certfile": str(cert_file), "keyfile": str(key_file)}, client_context


async def post(client: httpx.AsyncClient, body: bytes, content_type: str) -> tuple[int, object]:
    response = await client.post("/form", content=body, headers={"content-type": content_type})
    return response.status_code, response.json()


@pytest.mark.parametrize(
    ("tls", "http2"),
    [
        pytest.param(False, False, marks=needs_http1_fixes, id="http1"),
        pytest.param(True, False, marks=needs_http1_fixes, id="http1-tls"),
        pytest.param(False, True, marks=needs_fix("h2-late-data"), id="h2c"),
        pytest.param(True, True, marks=needs_fix("h2-late-data"), id="h2-tls"),
    ],
)
async def test_form_floods_get_their_400_whole_and_the_server_serves_on(tmp_path, tls, http2):
    # Without the fixes: over TLS the client sees the connection reset before
    # the answer (every time here), and over HTTP/2 the worker dies of a KeyError.
    urlencoded = b"".join(urlencoded_chunks(100_000))  # 0.9 MB
    multipart = b"".join(multipart_chunks(100_000))  # 7 MB
    settings, verify = tls_settings(tmp_path) if tls else ({}, None)
    client_options = {"http1": not http2, "http2": http2, "verify": verify or True}
    with trio.fail_after(60):
        async with (
            run_hypercorn(flood_app(), **settings) as url,
            httpx.AsyncClient(base_url=url, **client_options) as client,
        ):
            fields = await post(client, urlencoded, URLENCODED)
            files = await post(client, multipart, "multipart/form-data; boundary=B")
            fine = await client.post("/form", data={"a": "1", "b": "2"})
    assert (fields, files) == (FIELDS_REFUSED, FILES_REFUSED)
    assert (fine.status_code, fine.json(), fine.http_version) == (
        200,
        {"items": 2},
        "HTTP/2" if http2 else "HTTP/1.1",
    )


async def send_head_and_some_fields(url: str) -> tuple[trio.SocketStream, bytes]:
    """POST a 0.9 MB form but send its head and first 30 kB only; the stream and the rest."""
    body = b"".join(urlencoded_chunks(100_000))
    head = (
        f"POST /form HTTP/1.1\r\nHost: a\r\nContent-Type: {URLENCODED}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    stream = await trio.open_tcp_stream(*host_port(url))
    await stream.send_all(head + body[:30_000])
    return stream, body[30_000:]


async def read_answer(stream: trio.SocketStream) -> bytes:
    """The whole 400 (its head and JSON body), read as it comes."""
    data = b""
    while not data.endswith(b'1000."}'):
        chunk = await stream.receive_some()
        assert chunk, data
        data += chunk
    return data


@needs_fix("early-answer-close")
async def test_an_answer_before_the_body_is_in_says_connection_close():
    async with run_hypercorn(flood_app()) as url:
        stream, _ = await send_head_and_some_fields(url)
        with trio.fail_after(10):
            answer = await read_answer(stream)
        await stream.aclose()
    head = answer.split(b"\r\n\r\n")[0].lower().split(b"\r\n")
    assert head[0] == b"http/1.1 400 "
    assert b"connection: close" in head


@needs_fix("lingering-close")
async def test_a_client_still_sending_after_the_answer_is_read_to_its_end_not_reset():
    # The server answered and sent its FIN; the client goes on sending the
    # body it had started. Closing at once, the server would answer that with
    # a reset (the data is unread); lingering, it reads and drops it, and
    # the client sees a clean end of stream.
    async with run_hypercorn(flood_app()) as url:
        stream, rest = await send_head_and_some_fields(url)
        with trio.fail_after(10):
            assert (await read_answer(stream)).startswith(b"HTTP/1.1 400 ")
            for start in range(0, len(rest), 65_536):
                await stream.send_all(rest[start : start + 65_536])
            assert await stream.receive_some() == b""
        await stream.aclose()
