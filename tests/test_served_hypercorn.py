"""The app served for real: hypercorn's trio worker on a free 127.0.0.1 port."""

from __future__ import annotations

from contextlib import asynccontextmanager

import httpx
import trio

from tests.serving import run_hypercorn
from trioapi import Request, TrioAPI
from trioapi.responses import PlainTextResponse, StreamingResponse


def build_app(events: list[str]) -> TrioAPI:
    @asynccontextmanager
    async def lifespan(app):
        events.append("startup")
        yield {"greeting": "hello"}
        events.append("shutdown")

    app = TrioAPI(lifespan=lifespan)

    @app.get("/hello")
    async def hello(request: Request):
        return {"greeting": request.state.greeting, "http_version": request.scope["http_version"]}

    @app.get("/client-port")
    async def client_port(request: Request):
        return {"port": request.client.port}

    @app.post("/upload-size")
    async def upload_size(request: Request):
        total = 0
        async for chunk in request.stream():
            total += len(chunk)
        return {"size": total}

    @app.get("/stream")
    async def stream():
        async def numbers():
            for i in range(5):
                yield f"{i}\n"
                await trio.sleep(0)

        return StreamingResponse(numbers(), media_type="text/plain")

    @app.get("/slow")
    async def slow():
        events.append("slow started")
        try:
            await trio.sleep(30)
            events.append("slow finished")
        except trio.Cancelled:
            events.append("slow cancelled")
            raise
        finally:
            events.append("slow cleanup")
        return PlainTextResponse("never")

    return app


async def test_http11_keep_alive_reuses_one_connection():
    events: list[str] = []
    async with run_hypercorn(build_app(events)) as url:
        async with httpx.AsyncClient(base_url=url) as client:
            first = await client.get("/client-port")
            second = await client.get("/client-port")
            hello = await client.get("/hello")
    assert first.status_code == 200
    assert first.json()["port"] == second.json()["port"]
    assert hello.json() == {"greeting": "hello", "http_version": "1.1"}
    assert hello.http_version == "HTTP/1.1"


async def test_http2_prior_knowledge_multiplexes_requests():
    events: list[str] = []
    async with run_hypercorn(build_app(events)) as url:
        async with httpx.AsyncClient(base_url=url, http1=False, http2=True) as client:
            results = []

            async def fetch():
                response = await client.get("/hello")
                results.append((response.http_version, response.json()["http_version"]))

            async with trio.open_nursery() as nursery:
                for _ in range(20):
                    nursery.start_soon(fetch)
    assert results == [("HTTP/2", "2")] * 20


async def test_streaming_response_arrives_in_pieces():
    events: list[str] = []
    async with run_hypercorn(build_app(events)) as url:
        async with httpx.AsyncClient(base_url=url) as client:
            async with client.stream("GET", "/stream") as response:
                lines = [line async for line in response.aiter_lines()]
    assert lines == ["0", "1", "2", "3", "4"]
    assert "content-length" not in response.headers


async def test_large_upload_is_streamed_to_the_handler():
    events: list[str] = []
    payload = b"x" * (5 * 1024 * 1024)
    async with run_hypercorn(build_app(events)) as url:
        async with httpx.AsyncClient(base_url=url) as client:
            response = await client.post("/upload-size", content=payload)
    assert response.json() == {"size": len(payload)}


async def test_lifespan_runs_startup_and_shutdown():
    events: list[str] = []
    async with run_hypercorn(build_app(events)):
        assert events == ["startup"]
    assert events == ["startup", "shutdown"]


async def test_client_disconnect_cancels_the_handler_and_cleanup_runs():
    events: list[str] = []
    async with run_hypercorn(build_app(events)) as url:
        async with httpx.AsyncClient(base_url=url) as client:
            with trio.move_on_after(0.5):
                await client.get("/slow")
        with trio.fail_after(5):
            while "slow cleanup" not in events:
                await trio.sleep(0.01)
    assert events[1:4] == ["slow started", "slow cancelled", "slow cleanup"]
