"""Graceful shutdown under hypercorn: in-flight requests finish, app tasks stop, hooks run.

    TRIOAPI_EVENT_LOG=/tmp/events.log \\
        hypercorn --worker-class trio --graceful-timeout 10 \\
        examples.trio_features.graceful_shutdown:app

On SIGTERM (or Ctrl-C) hypercorn stops accepting connections and waits up to
``graceful_timeout`` for the requests in flight; their background tasks run
too. Then the lifespan ends: the tasks in the application nursery are
cancelled and awaited (their cleanup runs), and only then the code after the
lifespan's ``yield``. Each step is written to ``$TRIOAPI_EVENT_LOG``.
"""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio

from trioapi import BackgroundTasks, TrioAPI


def record(event: str) -> None:
    """Append one line to the event log (a file, so another process can read it)."""
    path = os.environ.get("TRIOAPI_EVENT_LOG")
    if path:
        with open(path, "a") as log:
            log.write(event + "\n")


refreshes: list[float] = []


async def refresh_cache() -> None:
    """An application-lifetime task: refreshes until shutdown cancels it."""
    record("refresher started")
    try:
        while True:
            await trio.sleep(0.05)
            refreshes.append(trio.current_time())  # stands for real refresh work
    except trio.Cancelled:
        record("refresher cancelled")
        raise
    finally:
        record("refresher cleaned up")


@asynccontextmanager
async def lifespan(app: TrioAPI) -> AsyncIterator[None]:
    record("startup")
    assert app.app_nursery is not None  # open while the lifespan runs
    app.app_nursery.start_soon(refresh_cache)
    yield
    record("shutdown hook")


app = TrioAPI(lifespan=lifespan)


@app.get("/slow")
async def slow(tasks: BackgroundTasks, seconds: float = 1.0) -> dict[str, str]:
    record("slow started")
    await trio.sleep(seconds)  # the server is told to stop meanwhile
    record("slow finished")
    tasks.add_task(record, "background task ran")
    return {"status": "done"}
