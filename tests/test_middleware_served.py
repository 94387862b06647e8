"""CORS, GZip and ``@app.middleware("http")`` through a real hypercorn server and socket."""

from __future__ import annotations

import gzip
import zlib
from typing import Any

import httpx
import trio

from tests.serving import run_hypercorn
from trioapi import Request, TrioAPI
from trioapi.middleware.cors import CORSMiddleware
from trioapi.middleware.gzip import GZipMiddleware
from trioapi.responses import PlainTextResponse, StreamingResponse

ORIGIN = "https://app.example.org"
BIG = "trioapi " * 500  # 4,000 bytes: above GZip's default minimum_size


def build_app(proceed: trio.MemoryReceiveChannel[str] | None = None) -> TrioAPI:
    app = TrioAPI()
    app.add_middleware(GZipMiddleware, minimum_size=100)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=[ORIGIN],
        allow_methods=["GET", "POST"],
        allow_headers=["X-Token"],
        allow_credentials=True,
        expose_headers=["X-Count"],
        max_age=60,
    )

    @app.get("/big")
    async def big() -> PlainTextResponse:
        return PlainTextResponse(BIG, headers={"X-Count": "500"})

    @app.get("/small")
    async def small() -> PlainTextResponse:
        return PlainTextResponse("tiny")

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def chunks():
            yield b"first " * 50
            assert proceed is not None
            yield (await proceed.receive()).encode()  # sent once the client saw chunk one

        return StreamingResponse(chunks(), media_type="text/plain")

    return app


async def test_cors_preflight_is_answered_by_the_served_app():
    async with run_hypercorn(build_app()) as url, httpx.AsyncClient(base_url=url) as client:
        allowed = await client.options(
            "/big",
            headers={
                "Origin": ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "x-token",
            },
        )
        refused = await client.options(
            "/big",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
        )

    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert allowed.headers["access-control-allow-methods"] == "GET, POST"
    assert "X-Token" in allowed.headers["access-control-allow-headers"]
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert allowed.headers["access-control-max-age"] == "60"
    preflight_vary = (
        "Origin, Access-Control-Request-Method, Access-Control-Request-Headers, "
        "Access-Control-Request-Private-Network"
    )
    assert allowed.headers["vary"] == preflight_vary
    assert (refused.status_code, refused.text) == (400, "Disallowed CORS origin")
    assert refused.headers["vary"] == preflight_vary
    assert "access-control-allow-origin" not in refused.headers


async def test_cors_simple_request_and_gzip_combine_on_the_wire():
    async with run_hypercorn(build_app()) as url, httpx.AsyncClient(base_url=url) as client:
        response = await client.get("/big", headers={"Origin": ORIGIN, "Accept-Encoding": "gzip"})
        foreign = await client.get("/small", headers={"Origin": "https://evil.example"})
        same_origin = await client.get("/small")

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert response.headers["access-control-expose-headers"] == "X-Count"
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["vary"] == "Accept-Encoding, Origin"
    # httpx decodes the body; the length on the wire is the compressed one.
    assert response.text == BIG
    assert int(response.headers["content-length"]) < len(BIG) // 10
    assert foreign.status_code == 200
    assert "access-control-allow-origin" not in foreign.headers
    assert foreign.headers["vary"] == "Origin"
    assert same_origin.headers["vary"] == "Origin"
    assert "access-control-allow-origin" not in same_origin.headers


async def test_gzip_skips_small_bodies_and_clients_that_do_not_accept_it():
    async with run_hypercorn(build_app()) as url, httpx.AsyncClient(base_url=url) as client:
        small = await client.get("/small", headers={"Accept-Encoding": "gzip"})
        identity = await client.get("/big", headers={"Accept-Encoding": "identity"})

    assert (small.text, small.headers.get("content-encoding")) == ("tiny", None)
    assert (identity.text, identity.headers.get("content-encoding")) == (BIG, None)
    assert identity.headers["content-length"] == str(len(BIG))


async def test_gzipped_stream_reaches_the_client_chunk_by_chunk():
    send_proceed, proceed = trio.open_memory_channel[str](0)
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    seen = b""
    raw = b""
    with trio.fail_after(10):  # a buffered stream would wait for the client forever
        async with (
            run_hypercorn(build_app(proceed)) as url,
            httpx.AsyncClient(base_url=url) as client,
            client.stream("GET", "/stream", headers={"Accept-Encoding": "gzip"}) as response,
        ):
            assert response.headers["content-encoding"] == "gzip"
            chunks = response.aiter_raw()
            while seen != b"first " * 50:
                piece = await chunks.__anext__()
                raw += piece
                seen += decompressor.decompress(piece)
            await send_proceed.send("last")
            async for piece in chunks:
                raw += piece

    assert gzip.decompress(raw) == b"first " * 50 + b"last"


async def test_http_middleware_streams_over_a_real_socket():
    send_proceed, proceed = trio.open_memory_channel[str](0)
    app = TrioAPI()
    log: list[str] = []

    @app.middleware("http")
    async def stamp(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        response.headers["X-Stamped"] = "yes"
        return response

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def chunks():
            yield b"one;"
            log.append("endpoint: waiting for the client")
            yield (await proceed.receive()).encode()
            log.append("endpoint: done")

        return StreamingResponse(chunks(), media_type="text/plain")

    with trio.fail_after(10):
        async with (
            run_hypercorn(app) as url,
            httpx.AsyncClient(base_url=url) as client,
            client.stream("GET", "/stream") as response,
        ):
            chunks = response.aiter_raw()
            first = await chunks.__anext__()
            log.append("client: got the first chunk")
            await send_proceed.send("two")
            rest = b"".join([piece async for piece in chunks])

    assert response.headers["x-stamped"] == "yes"
    assert (first, rest) == (b"one;", b"two")
    assert log.index("client: got the first chunk") < log.index("endpoint: done")


async def test_client_hanging_up_cancels_the_endpoint_behind_http_middleware():
    app = TrioAPI()
    log: list[str] = []
    started, cleaned_up = trio.Event(), trio.Event()

    @app.middleware("http")
    async def passthrough(request: Request, call_next: Any) -> Any:
        return await call_next(request)

    @app.get("/slow")
    async def slow() -> str:
        log.append("endpoint: started")
        started.set()
        try:
            await trio.sleep_forever()
        finally:
            log.append("endpoint: cancelled")
            cleaned_up.set()

    with trio.fail_after(10):
        async with run_hypercorn(app) as url:
            host, port = url.removeprefix("http://").split(":")
            stream = await trio.open_tcp_stream(host, int(port))
            await stream.send_all(b"GET /slow HTTP/1.1\r\nHost: test\r\n\r\n")
            await started.wait()
            await stream.aclose()  # the client goes away mid-request
            await cleaned_up.wait()

    assert log == ["endpoint: started", "endpoint: cancelled"]


async def test_http_middleware_and_endpoint_share_the_body_over_a_real_socket():
    app = TrioAPI()
    seen: list[bytes] = []

    @app.middleware("http")
    async def log_size(request: Request, call_next: Any) -> Any:
        body = await request.body()
        seen.append(body)
        response = await call_next(request)
        response.headers["X-Request-Size"] = str(len(body))
        return response

    @app.post("/echo")
    async def echo(payload: dict[str, Any]) -> dict[str, Any]:
        return {"got": payload}

    @app.post("/streamed")
    async def streamed(request: Request) -> dict[str, int]:
        return {"size": len(b"".join([piece async for piece in request.stream()]))}

    big = b"x" * 200_000
    with trio.fail_after(10):
        async with run_hypercorn(app) as url, httpx.AsyncClient(base_url=url) as client:
            echoed = await client.post("/echo", json={"a": 1})
            streamed_response = await client.post("/streamed", content=big)

    assert echoed.json() == {"got": {"a": 1}}
    assert echoed.headers["x-request-size"] == str(len(b'{"a":1}'))
    assert streamed_response.json() == {"size": len(big)}
    assert streamed_response.headers["x-request-size"] == str(len(big))
    assert seen == [b'{"a":1}', big]
