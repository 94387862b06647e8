"""In-process benchmark: call each app's ASGI entry directly, same loop, same requests.

    .venv-bench/bin/python bench/inprocess.py      (make bench sets this up)

Prints requests/second per app and the ratios to the bare ASGI app and to
FastAPI. Only ratios from one run on one machine mean anything.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import trio

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent.parent))

from bench.apps import bare_app, build_framework_app  # noqa: E402

REQUESTS = [
    ("GET", "/ping", b"", b""),
    ("GET", "/items/42", b"q=hello", b""),
    ("POST", "/items", b"", b'{"name":"widget","price":9.5,"tags":["a","b"]}'),
]


def make_scope(method: str, path: str, query: bytes, body: bytes) -> dict[str, Any]:
    headers = [(b"host", b"bench"), (b"content-type", b"application/json")]
    if body:
        headers.append((b"content-length", str(len(body)).encode()))
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query,
        "root_path": "", "headers": headers, "client": ("127.0.0.1", 1), "server": ("bench", 80),
    }


async def call(app: Any, method: str, path: str, query: bytes, body: bytes) -> int:
    status = 0
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await trio.sleep_forever()
        return {}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(make_scope(method, path, query, body), receive, send)
    return status


async def measure(app: Any, rounds: int) -> float:
    for request in REQUESTS:  # warm up, and check the app answers 200
        assert await call(app, *request) == 200, request
    start = time.perf_counter()
    for _ in range(rounds):
        for request in REQUESTS:
            await call(app, *request)
    return rounds * len(REQUESTS) / (time.perf_counter() - start)


async def main(rounds: int) -> None:
    apps: dict[str, Any] = {"bare ASGI": bare_app, "trioapi": build_framework_app("trioapi")}
    try:
        apps["FastAPI (on trio)"] = build_framework_app("fastapi")
    except ImportError:
        print("fastapi not installed: run `make bench` to measure against it")
    results = {name: await measure(app, rounds) for name, app in apps.items()}
    for name, rps in results.items():
        line = f"{name:20s} {rps:10.0f} req/s   {rps / results['bare ASGI']:.2f}x bare"
        if "FastAPI (on trio)" in results:
            line += f"   {rps / results['FastAPI (on trio)']:.2f}x FastAPI"
        print(line)


if __name__ == "__main__":
    trio.run(main, int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
