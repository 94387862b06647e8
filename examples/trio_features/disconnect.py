"""Cancellation when the client goes away: on by default, switchable per route.

    hypercorn --worker-class trio examples.trio_features.disconnect:app

``GET /report`` is cancelled at its next checkpoint when the client leaves:
the ``transaction`` dependency sees ``trio.Cancelled`` at its ``yield`` and
rolls back. ``POST /payments`` must finish whatever the client does, so it
says ``cancel_on_disconnect=False``.
"""

from typing import Annotated

import trio

from trioapi import Depends, TrioAPI

app = TrioAPI()
journal: list[str] = []


async def transaction():
    journal.append("begin")
    try:
        yield "tx"
    except trio.Cancelled:
        journal.append("rollback: the client went away")
        raise
    journal.append("commit")


@app.get("/report")
async def report(tx: Annotated[str, Depends(transaction)]):
    await trio.sleep(60)  # a long query; cancelled if the client leaves
    return {"report": "..."}


@app.post("/payments", cancel_on_disconnect=False)
async def pay(tx: Annotated[str, Depends(transaction)]):
    await trio.sleep(5)  # charging the card: must not stop half-way
    return {"paid": True}
