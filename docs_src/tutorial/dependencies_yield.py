from typing import Annotated

import trio

from trioapi import BackgroundTasks, Depends, TrioAPI

app = TrioAPI()
events: list[str] = []


class Connection:
    """Stands for a database connection."""

    def __init__(self, name: str) -> None:
        self.name = name


async def get_db():
    connection = Connection("db")
    events.append("db: open")
    try:
        yield connection
    except trio.Cancelled:
        events.append("db: rollback (the request was cancelled)")
        raise
    except Exception:
        events.append("db: rollback (an error)")
        raise
    else:
        events.append("db: commit")
    finally:
        events.append("db: close")


async def get_lock_token():
    events.append("lock: acquired")
    yield "token"
    events.append("lock: released")


DB = Annotated[Connection, Depends(get_db)]  # scope="request", the default
# Released as soon as the endpoint returns, before the response is sent:
LockToken = Annotated[str, Depends(get_lock_token, scope="function")]


def send_receipt(order: str) -> None:
    events.append(f"receipt for {order}")


@app.post("/orders/{order}")
async def create_order(order: str, db: DB, token: LockToken, tasks: BackgroundTasks):
    events.append(f"endpoint: {order} on {db.name} with {token}")
    tasks.add_task(send_receipt, order)
    return {"order": order}


@app.get("/slow")
async def slow(db: DB):
    await trio.sleep(10)  # the client will not wait this long
    return {"done": True}
