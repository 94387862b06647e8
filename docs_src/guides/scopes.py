from typing import Annotated

import trio

from trioapi import APIRouter, Depends, RequestNursery, RequestScope, TrioAPI

audit_log: list[str] = []
payments: list[int] = []

# --8<-- [start:disconnect]
app = TrioAPI(cancel_on_disconnect=True)  # the default
router = APIRouter(cancel_on_disconnect=False)


@app.post("/payments", cancel_on_disconnect=False)  # must finish regardless
async def pay(amount: int):
    await trio.sleep(1)  # stands for the payment provider's call
    payments.append(amount)
    return {"paid": amount}
    # --8<-- [end:disconnect]


# --8<-- [start:budget]
async def backend_budget(scope: RequestScope) -> float:
    return max(scope.remaining() - 0.5, 0)  # inf when there is no deadline
    # --8<-- [end:budget]


@app.get("/budget", timeout=2)
async def budget(seconds: Annotated[float, Depends(backend_budget)]):
    return {"backend_budget": seconds}


async def write_audit(line: str) -> None:
    await trio.sleep(0.1)  # stands for a write to an audit store
    audit_log.append(line)


# --8<-- [start:nursery]
@app.post("/orders")
async def create_order(item: str, nursery: RequestNursery):
    nursery.start_soon(write_audit, f"order {item}")
    return {"ordered": item}
    # --8<-- [end:nursery]
