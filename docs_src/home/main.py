from typing import Annotated

import trio
from pydantic import BaseModel

from trioapi import Depends, HTTPException, TrioAPI

app = TrioAPI(title="Shop")


class Item(BaseModel):
    name: str
    price: float


items: dict[int, Item] = {1: Item(name="Hammer", price=9.5)}


async def stock_level(item_id: int) -> int:
    await trio.sleep(0.2)  # a call to the warehouse service
    return 7


@app.get("/items/{item_id}", timeout=1)  # 504 if the whole request takes over 1 s
async def read_item(item_id: int, stock: Annotated[int, Depends(stock_level)]):
    if item_id not in items:
        raise HTTPException(status_code=404, detail="Item not found")
    return {"item": items[item_id], "in_stock": stock}


@app.post("/items/{item_id}", status_code=201)
async def create_item(item_id: int, item: Item) -> Item:
    items[item_id] = item
    return item
