"""Deadlines: ``timeout=`` on the app, a router and a route; the innermost wins.

    hypercorn --worker-class trio examples.trio_features.deadlines:app

- ``GET /search`` has 2 s (its own), ``GET /reports/daily`` 10 s (its router's),
  ``GET /health`` 30 s (the app's).
- When a deadline passes before the response has started, the client gets
  504; here the handler for ``RequestTimeout`` shapes the body.
- A dependency reads the time left and passes it on to a backend call.
"""

from typing import Annotated

import trio

from trioapi import APIRouter, Depends, Request, RequestScope, TrioAPI
from trioapi.exceptions import RequestTimeout
from trioapi.responses import JSONResponse

app = TrioAPI(timeout=30)
reports = APIRouter(prefix="/reports", timeout=10)


async def backend_budget(scope: RequestScope) -> float:
    """Give the backend call what is left of the request's time, minus a margin."""
    return max(scope.remaining() - 0.5, 0)


async def call_backend(query: str, budget: float) -> list[str]:
    with trio.move_on_after(budget):
        await trio.sleep(len(query))  # stands for a slow backend: 1 s per character
        return [f"result for {query}"]
    return []  # out of time: answer with what we have


@app.get("/search", timeout=2)
async def search(q: str, budget: Annotated[float, Depends(backend_budget)]):
    return {"results": await call_backend(q, budget), "budget": budget}


@reports.get("/daily")
async def daily(hours: float = 1):
    await trio.sleep(hours)  # 10 s allowed by the router
    return {"report": "daily"}


@app.get("/health")
async def health():
    return {"ok": True}


@app.exception_handler(RequestTimeout)
async def on_timeout(request: Request, exc: RequestTimeout) -> JSONResponse:
    return JSONResponse(
        {"detail": "The server took too long", "path": request.url.path},
        status_code=exc.status_code,
    )


app.include_router(reports)
