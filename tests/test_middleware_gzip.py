from __future__ import annotations

import gzip
import zlib

import trio

from tests.middleware_support import call, make_scope
from trioapi.middleware.gzip import GZipMiddleware
from trioapi.responses import PlainTextResponse, StreamingResponse
from trioapi.types import Receive, Scope, Send

LARGE = "x" * 1000
ACCEPT_GZIP = [("accept-encoding", "gzip, deflate, br")]


def text_app(content: str, headers: dict[str, str] | None = None, media_type: str | None = None):
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        response = PlainTextResponse(content, headers=headers, media_type=media_type)
        await response(scope, receive, send)

    return app


async def test_large_response_is_compressed_for_a_client_that_accepts_gzip():
    sent = await call(GZipMiddleware(text_app(LARGE)), headers=ACCEPT_GZIP)

    assert sent.status == 200
    assert gzip.decompress(sent.body) == LARGE.encode()
    assert sent.headers["content-encoding"] == "gzip"
    assert sent.headers["content-length"] == str(len(sent.body))
    assert len(sent.body) < 100
    assert sent.headers["vary"] == "Accept-Encoding"
    assert sent.headers["content-type"] == "text/plain; charset=utf-8"
    assert sent.body_messages == [{"type": "http.response.body", "body": sent.body}]


async def test_small_response_passes_through_uncompressed():
    sent = await call(GZipMiddleware(text_app("hello")), headers=ACCEPT_GZIP)

    assert sent.body == b"hello"
    assert sent.raw_headers == [
        ("content-length", "5"),
        ("content-type", "text/plain; charset=utf-8"),
    ]


async def test_minimum_size_sets_the_threshold():
    sent = await call(GZipMiddleware(text_app("a" * 20), minimum_size=10), headers=ACCEPT_GZIP)

    assert sent.headers["content-encoding"] == "gzip"
    assert gzip.decompress(sent.body) == b"a" * 20


async def test_compresslevel_is_used():
    content = "".join(f"{i}:{i * 7919 % 1000}," for i in range(3000))
    fast = await call(GZipMiddleware(text_app(content), compresslevel=1), headers=ACCEPT_GZIP)
    best = await call(GZipMiddleware(text_app(content), compresslevel=9), headers=ACCEPT_GZIP)

    assert gzip.decompress(fast.body) == gzip.decompress(best.body) == content.encode()
    assert len(best.body) < len(fast.body)


async def test_client_without_gzip_gets_the_body_as_is_with_vary():
    sent = await call(GZipMiddleware(text_app(LARGE)), headers=[("accept-encoding", "br")])

    assert sent.body == LARGE.encode()
    assert "content-encoding" not in sent.headers
    assert sent.headers["content-length"] == "1000"
    assert sent.headers["vary"] == "Accept-Encoding"


async def test_vary_is_appended_to_the_apps_own_vary():
    app = GZipMiddleware(text_app(LARGE, headers={"Vary": "Origin"}))
    sent = await call(app, headers=ACCEPT_GZIP)

    assert sent.headers["vary"] == "Origin, Accept-Encoding"


async def test_response_that_already_has_a_content_encoding_is_untouched():
    app = GZipMiddleware(text_app(LARGE, headers={"Content-Encoding": "br"}))
    sent = await call(app, headers=ACCEPT_GZIP)

    assert sent.body == LARGE.encode()
    assert sent.headers["content-encoding"] == "br"
    assert "vary" not in sent.headers


async def test_event_stream_is_never_compressed():
    async def events():
        for index in range(3):
            yield f"data: {index}\n\n" + "x" * 600

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await StreamingResponse(events(), media_type="text/event-stream")(scope, receive, send)

    sent = await call(GZipMiddleware(app), headers=ACCEPT_GZIP)

    assert sent.body.startswith(b"data: 0\n\n")
    assert "content-encoding" not in sent.headers
    assert "vary" not in sent.headers


async def test_streaming_response_is_compressed_and_flushed_chunk_by_chunk():
    chunks = [b"first chunk " * 10, b"second chunk " * 10, b"third"]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", b"text/plain"), (b"content-length", b"999")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for chunk in chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    sent = await call(GZipMiddleware(app), headers=ACCEPT_GZIP)

    assert sent.raw_headers == [
        ("content-type", "text/plain"),
        ("vary", "Accept-Encoding"),
        ("content-encoding", "gzip"),
    ]
    # Each chunk decompresses fully on arrival: nothing is held back for later.
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    received = [decompressor.decompress(m["body"]) for m in sent.body_messages]
    assert received == [*chunks, b""]
    assert [m["more_body"] for m in sent.body_messages] == [True, True, True, False]
    assert decompressor.eof
    assert gzip.decompress(sent.body) == b"".join(chunks)


async def test_each_streamed_chunk_reaches_the_client_before_the_next_is_made():
    log: list[str] = []
    produce_next = trio.Event()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"tick " * 200, "more_body": True})
        log.append("app: first chunk sent")
        await produce_next.wait()
        await send({"type": "http.response.body", "body": b"tock", "more_body": False})

    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)

    async def send(message):
        if message["type"] == "http.response.body":
            log.append(f"client: {decompressor.decompress(message['body'])[:4]!r}")
            produce_next.set()

    await GZipMiddleware(app)(make_scope(headers=ACCEPT_GZIP), None, send)

    assert log == ["client: b'tick'", "app: first chunk sent", "client: b'tock'"]


async def test_empty_intermediate_chunk_is_sent_empty():
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"a" * 600, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    sent = await call(GZipMiddleware(app), headers=ACCEPT_GZIP)

    assert sent.body_messages[1] == {"type": "http.response.body", "body": b"", "more_body": True}
    assert gzip.decompress(sent.body) == b"a" * 600


async def test_pathsend_is_forwarded_uncompressed():
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"4")]}
        )
        await send({"type": "http.response.pathsend", "path": "/tmp/file"})

    sent = await call(GZipMiddleware(app), headers=ACCEPT_GZIP)

    assert [m["type"] for m in sent.messages] == ["http.response.start", "http.response.pathsend"]
    assert sent.raw_headers == [("content-length", "4")]


async def test_non_http_scopes_pass_through():
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    await GZipMiddleware(app)({"type": "lifespan"}, None, None)

    assert seen == ["lifespan"]


def raw_app(start: dict, *bodies: dict, after: tuple[dict, ...] = ()):
    """An app that sends exactly the given messages."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", **start})
        for body in bodies:
            await send({"type": "http.response.body", **body})
        for message in after:
            await send(message)

    return app


async def test_already_compressed_media_types_are_excluded_by_default():
    for content_type in ("image/png", "application/zip", "video/mp4", "application/grpc+proto"):
        app = raw_app(
            {"status": 200, "headers": [(b"content-type", content_type.encode())]},
            {"body": b"x" * 4000},
        )
        sent = await call(GZipMiddleware(app), headers=ACCEPT_GZIP)
        assert "content-encoding" not in sent.headers, content_type
        assert sent.body == b"x" * 4000


async def test_exclude_content_types_ignores_case_and_parameters():
    app = raw_app(
        {"status": 200, "headers": [(b"content-type", b"application/json; charset=utf-8")]},
        {"body": b"x" * 4000},
    )
    middleware = GZipMiddleware(app, exclude_content_types=("Application/JSON; q=1",))

    sent = await call(middleware, headers=ACCEPT_GZIP)

    assert "content-encoding" not in sent.headers
    assert "vary" not in sent.headers


async def test_an_empty_exclude_list_compresses_images():
    app = raw_app(
        {"status": 200, "headers": [(b"content-type", b"image/png")]}, {"body": b"x" * 4000}
    )

    sent = await call(GZipMiddleware(app, exclude_content_types=()), headers=ACCEPT_GZIP)

    assert sent.headers["content-encoding"] == "gzip"
    assert gzip.decompress(sent.body) == b"x" * 4000


async def test_partial_content_is_never_compressed():
    app = raw_app(
        {"status": 206, "headers": [(b"content-range", b"bytes 0-3999/9000")]},
        {"body": b"x" * 4000},
    )

    sent = await call(GZipMiddleware(app), headers=ACCEPT_GZIP)

    assert sent.status == 206
    assert "content-encoding" not in sent.headers
    assert sent.body == b"x" * 4000


async def test_large_chunks_are_compressed_in_a_worker_thread(monkeypatch):
    threads: list[object] = []
    real_run_sync = trio.to_thread.run_sync

    async def counting_run_sync(*args, **kwargs):
        threads.append(args[0])
        return await real_run_sync(*args, **kwargs)

    monkeypatch.setattr(trio.to_thread, "run_sync", counting_run_sync)
    middleware = GZipMiddleware(text_app(LARGE), thread_minimum_size=len(LARGE))

    sent = await call(middleware, headers=ACCEPT_GZIP)

    assert gzip.decompress(sent.body) == LARGE.encode()
    assert len(threads) == 1


async def test_trailers_drop_the_content_length_and_pass_through():
    trailers = {"type": "http.response.trailers", "headers": [(b"grpc-status", b"0")]}
    app = raw_app(
        {"status": 200, "headers": [(b"content-length", b"4000")], "trailers": True},
        {"body": b"x" * 4000},
        after=(trailers,),
    )

    sent = await call(GZipMiddleware(app), headers=ACCEPT_GZIP)

    assert sent.headers["content-encoding"] == "gzip"
    assert "content-length" not in sent.headers
    assert sent.messages[-1] == trailers
    assert gzip.decompress(sent.messages[1]["body"]) == b"x" * 4000


async def test_early_hints_go_out_before_the_held_back_start():
    hint = {"type": "http.response.early_hint", "links": ["</style.css>; rel=preload"]}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send(hint)
        await send({"type": "http.response.body", "body": b"x" * 4000})

    sent = await call(GZipMiddleware(app), headers=ACCEPT_GZIP)

    assert [m["type"] for m in sent.messages] == [
        "http.response.early_hint",
        "http.response.start",
        "http.response.body",
    ]


async def test_gzip_responder_is_an_asgi_app_of_its_own():
    from trioapi.middleware.gzip import GZipResponder, IdentityResponder

    compressed = await call(GZipResponder(text_app(LARGE), 500), headers=ACCEPT_GZIP)
    identity = await call(IdentityResponder(text_app(LARGE), 500))

    assert gzip.decompress(compressed.body) == LARGE.encode()
    assert identity.body == LARGE.encode()
    assert identity.headers["vary"] == "Accept-Encoding"
    assert "content-encoding" not in identity.headers


async def test_every_vary_line_is_kept_when_accept_encoding_is_added():
    app = raw_app(
        {"status": 200, "headers": [(b"vary", b"Accept-Language"), (b"vary", b"Cookie")]},
        {"body": b"x" * 4000},
    )

    sent = await call(GZipMiddleware(app), headers=ACCEPT_GZIP)

    assert sent.headers["vary"] == "Accept-Language, Cookie, Accept-Encoding"
