"""The same small API written three ways, for benchmarks: bare ASGI, trioapi, FastAPI."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel


class Item(BaseModel):
    name: str
    price: float
    tags: list[str] = []


async def bare_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A hand-written ASGI app doing the same work without a framework."""
    if scope["type"] != "http":
        return
    path = scope["path"]
    if path == "/ping":
        body = b'{"ping":"pong"}'
    elif path.startswith("/items/"):
        item_id = int(path.rsplit("/", 1)[1])
        query = dict(pair.split("=", 1) for pair in scope["query_string"].decode().split("&") if "=" in pair)
        body = json.dumps({"item_id": item_id, "q": query.get("q")}).encode()
    elif path == "/items" and scope["method"] == "POST":
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        item = Item.model_validate_json(raw)
        body = item.model_dump_json().encode()
    else:
        body = b'{"detail":"Not Found"}'
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def build_framework_app(module: str) -> Any:
    """The API on ``trioapi`` or ``fastapi`` (identical source, names swapped)."""
    if module == "trioapi":
        from trioapi import TrioAPI as App
    else:
        from fastapi import FastAPI as App  # type: ignore[no-redef]

    app = App()

    @app.get("/ping")
    async def ping() -> dict[str, str]:
        return {"ping": "pong"}

    @app.get("/items/{item_id}")
    async def read_item(item_id: int, q: str | None = None) -> dict[str, Any]:
        return {"item_id": item_id, "q": q}

    @app.post("/items", response_model=Item)
    async def create_item(item: Item) -> Item:
        return item

    return app
