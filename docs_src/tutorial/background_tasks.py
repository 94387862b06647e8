from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio

from trioapi import AppNursery, BackgroundTasks, TrioAPI

log: list[str] = []


def write_log(message: str) -> None:  # a sync task runs in a worker thread
    log.append(message)


async def notify(email: str) -> None:  # an async task runs on the event loop
    await trio.sleep(0.1)
    log.append(f"notified {email}")


async def rebuild_index() -> None:
    await trio.sleep(30)  # longer than any request should last
    log.append("index rebuilt")


@asynccontextmanager
async def lifespan(app: TrioAPI) -> AsyncIterator[None]:
    yield  # the app nursery is open between startup and shutdown


app = TrioAPI(lifespan=lifespan)


@app.post("/send-notification/{email}")
async def send_notification(email: str, tasks: BackgroundTasks):
    tasks.add_task(write_log, f"notification for {email}")
    tasks.add_task(notify, email)
    return {"message": "Notification sent in the background"}


@app.post("/reindex", status_code=202)
async def reindex(nursery: AppNursery):
    # Not a background task: it outlives the request and is cancelled at shutdown.
    nursery.start_soon(rebuild_index)
    return {"message": "Reindexing"}
