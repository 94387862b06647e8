"""An app for tests/test_graceful_shutdown.py: requests still running at hypercorn's hard cancel.

Each step is appended to ``$TRIOAPI_EVENT_LOG`` (a file the test reads from outside).
"""

import os
import time
from typing import Annotated

import trio

from trioapi import Depends, TrioAPI


def record(event: str) -> None:
    with open(os.environ["TRIOAPI_EVENT_LOG"], "a") as log:
        log.write(event + "\n")


async def resource():
    record("resource opened")
    try:
        yield
    finally:
        record("resource closed")


app = TrioAPI()


@app.get("/held")
async def held(_: Annotated[None, Depends(resource)]):
    await trio.sleep(60)  # still running when the graceful timeout ends


@app.get("/held-in-thread")
def held_in_thread(_: Annotated[None, Depends(resource)]):
    time.sleep(2.5)  # outlives the graceful timeout; teardown waits for it
    record("held-in-thread thread returned")
