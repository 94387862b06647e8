"""Request and application nurseries.

    hypercorn --worker-class trio examples.trio_features.nurseries:app

- ``GET /dashboard`` fans out three backend calls in a nursery of its own
  and gathers them: 1 s in all, not 3.
- ``POST /orders`` starts an audit write in the *request* nursery: the request
  is not over until it has finished (or was cancelled with the request).
- The lifespan starts a cache refresher in the *application* nursery: it runs
  until shutdown, then is cancelled and awaited before the lifespan ends.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio

from trioapi import RequestNursery, TrioAPI

prices: dict[str, int] = {}
audit_log: list[str] = []


async def refresh_prices() -> None:
    """Runs for the application's lifetime."""
    while True:
        prices["widget"] = prices.get("widget", 0) + 1
        await trio.sleep(60)


@asynccontextmanager
async def lifespan(app: "TrioAPI") -> AsyncIterator[None]:
    assert app.app_nursery is not None
    app.app_nursery.start_soon(refresh_prices)
    yield  # on shutdown the refresher is cancelled and awaited before this returns


app = TrioAPI(lifespan=lifespan)


async def fetch(service: str) -> dict[str, str]:
    await trio.sleep(1)  # stands for an HTTP call to another service
    return {"service": service}


@app.get("/dashboard")
async def dashboard():
    results: dict[str, dict[str, str]] = {}

    async def one(service: str) -> None:
        results[service] = await fetch(service)

    async with trio.open_nursery() as nursery:  # all three at once
        for service in ("users", "orders", "stock"):
            nursery.start_soon(one, service)
    return {"results": results, "price": prices.get("widget")}


async def write_audit(entry: str) -> None:
    await trio.sleep(0.5)
    audit_log.append(entry)


@app.post("/orders")
async def create_order(item: str, nursery: RequestNursery):
    nursery.start_soon(write_audit, f"order {item}")
    return {"ordered": item}  # sent now; the request ends after the audit write
