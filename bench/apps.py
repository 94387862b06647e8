"""The same API written three ways for benchmarks: bare ASGI, trioapi and FastAPI.

The trioapi and FastAPI apps are one source with the framework names swapped.
Each scenario of ``SCENARIOS`` is one request the three apps answer alike.
"""

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any
from urllib.parse import parse_qs

from pydantic import BaseModel

# name -> (method, path, query string, headers, body)
SCENARIOS: dict[str, tuple[str, str, bytes, list[tuple[bytes, bytes]], bytes]] = {
    "plaintext": ("GET", "/plaintext", b"", [], b""),
    "json": ("GET", "/json", b"", [], b""),
    "path+query params": ("GET", "/items/42", b"q=hello&limit=5", [], b""),
    "nested body + response_model": (
        "POST",
        "/orders",
        b"",
        [(b"content-type", b"application/json")],
        json.dumps(
            {
                "customer": {"name": "Ada", "email": "ada@example.org", "password": "s3cret"},
                "lines": [{"sku": f"sku-{i}", "quantity": i + 1, "price": 9.5} for i in range(5)],
                "note": "leave at the door",
            }
        ).encode(),
    ),
    "3-level deps + yield": ("GET", "/deps", b"", [], b""),
    "header-token security": ("GET", "/me", b"", [(b"authorization", b"Bearer token-123")], b""),
}


class Customer(BaseModel):
    name: str
    email: str
    password: str


class PublicCustomer(BaseModel):
    name: str
    email: str


class Line(BaseModel):
    sku: str
    quantity: int
    price: float


class Order(BaseModel):
    customer: Customer
    lines: list[Line]
    note: str | None = None


class OrderOut(BaseModel):
    customer: PublicCustomer
    lines: list[Line]


async def _read_body(receive: Any) -> bytes:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


async def _send(send: Any, status: int, body: bytes, content_type: bytes) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _bare_response(scope: dict[str, Any], body: bytes) -> tuple[int, bytes, bytes]:
    """Status, body and content type for one request, doing the same work by hand."""
    path = scope["path"]
    if path == "/plaintext":
        return 200, b"Hello, World!", b"text/plain; charset=utf-8"
    if path == "/json":
        return 200, b'{"message":"Hello, World!"}', b"application/json"
    if path.startswith("/items/"):
        query = parse_qs(scope["query_string"].decode())
        result = {
            "item_id": int(path.rsplit("/", 1)[1]),
            "q": query.get("q", [None])[0],
            "limit": int(query.get("limit", ["10"])[0]),
        }
        return 200, json.dumps(result, separators=(",", ":")).encode(), b"application/json"
    if path == "/orders":
        order = Order.model_validate_json(body)
        return (
            200,
            OrderOut.model_validate(order.model_dump()).model_dump_json().encode(),
            (b"application/json"),
        )
    if path == "/deps":
        return 200, b'{"service":"service(repo(db))"}', b"application/json"
    if path == "/me":
        headers = dict(scope["headers"])
        token = headers.get(b"authorization", b"").removeprefix(b"Bearer ")
        return 200, json.dumps({"user": token.decode()}).encode(), b"application/json"
    return 404, b'{"detail":"Not Found"}', b"application/json"


async def bare_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A hand-written ASGI app doing the same work without a framework."""
    if scope["type"] == "lifespan":  # nothing to start, but a server waits for the answers
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    body = await _read_body(receive) if scope["method"] == "POST" else b""
    status, payload, content_type = _bare_response(scope, body)
    await _send(send, status, payload, content_type)


def build_framework_app(module: str) -> Any:
    """The API on ``trioapi`` or ``fastapi`` (identical source, names swapped)."""
    if module == "trioapi":
        from trioapi import Depends
        from trioapi import TrioAPI as App
        from trioapi.responses import PlainTextResponse
        from trioapi.security import HTTPAuthorizationCredentials, HTTPBearer
    else:
        from fastapi import Depends  # type: ignore[no-redef,assignment]
        from fastapi import FastAPI as App
        from fastapi.responses import PlainTextResponse  # type: ignore[assignment]
        from fastapi.security import (  # type: ignore[assignment]
            HTTPAuthorizationCredentials,
            HTTPBearer,
        )

    app = App()
    bearer = HTTPBearer()

    @app.get("/plaintext", response_class=PlainTextResponse)
    async def plaintext() -> str:
        return "Hello, World!"

    @app.get("/json")
    async def json_message() -> dict[str, str]:
        return {"message": "Hello, World!"}

    @app.get("/items/{item_id}")
    async def read_item(item_id: int, q: str | None = None, limit: int = 10) -> dict[str, Any]:
        return {"item_id": item_id, "q": q, "limit": limit}

    @app.post("/orders", response_model=OrderOut)
    async def create_order(order: Order) -> Any:
        return order

    async def get_db() -> AsyncIterator[str]:
        yield "db"

    async def get_repo(db: Annotated[str, Depends(get_db)]) -> str:
        return f"repo({db})"

    async def get_service(repo: Annotated[str, Depends(get_repo)]) -> str:
        return f"service({repo})"

    @app.get("/deps")
    async def with_deps(service: Annotated[str, Depends(get_service)]) -> dict[str, str]:
        return {"service": service}

    @app.get("/me")
    async def me(
        credentials: Annotated[HTTPAuthorizationCredentials, Depends(bearer)],
    ) -> dict[str, str]:
        return {"user": credentials.credentials}

    return app
