import hashlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import trio

from trioapi import Depends, TrioAPI
from trioapi.concurrency import set_thread_limit


@asynccontextmanager
async def lifespan(app: TrioAPI) -> AsyncIterator[None]:
    # Every worker thread trioapi starts (sync endpoints, dependencies,
    # files) shares one limiter in the server's loop: at most 20 at once.
    set_thread_limit(20)
    yield


app = TrioAPI(lifespan=lifespan)

# A resource of its own gets a limiter of its own: at most 2 reports at once.
report_slots = trio.CapacityLimiter(2)


def load_settings() -> dict[str, str]:  # a sync dependency: runs in a worker thread
    time.sleep(0.01)  # stands for reading a file
    return {"greeting": "hello"}


@app.get("/greeting")
def greeting(settings: Annotated[dict[str, str], Depends(load_settings)]):
    # A sync endpoint: runs in a worker thread, so blocking here is fine.
    time.sleep(0.01)
    return {"greeting": settings["greeting"]}


def checksum(data: bytes) -> str:
    return hashlib.sha256(data * 10_000).hexdigest()


@app.post("/checksum")
async def post_checksum(data: str):
    # An async endpoint hands blocking or CPU-heavy work to a thread explicitly.
    digest = await trio.to_thread.run_sync(checksum, data.encode())
    return {"sha256": digest}


def build_report(name: str) -> str:
    time.sleep(0.05)  # a blocking library call
    # From the worker thread, call back into Trio with trio.from_thread.
    now = trio.from_thread.run_sync(trio.current_time)
    return f"{name} at {now:.0f}"


@app.get("/reports/{name}")
async def report(name: str):
    text = await trio.to_thread.run_sync(build_report, name, limiter=report_slots)
    return {"report": text}
