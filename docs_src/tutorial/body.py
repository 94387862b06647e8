from typing import Annotated

from pydantic import BaseModel, Field

from trioapi import Body, TrioAPI

app = TrioAPI()


class Item(BaseModel):
    name: str
    description: str | None = None
    price: float = Field(gt=0)
    tags: set[str] = set()


class ItemOut(BaseModel):
    id: int
    name: str
    price: float


items: dict[int, Item] = {}


@app.post("/items", response_model=ItemOut, status_code=201)
async def create_item(item: Item):
    item_id = len(items) + 1
    items[item_id] = item
    # response_model filters the output: description and tags are not sent.
    return {"id": item_id, **item.model_dump()}


@app.put("/items/{item_id}")
async def update_item(
    item_id: int,
    item: Item,
    importance: Annotated[int, Body(gt=0)],  # a second body key: {"item": ..., "importance": 5}
):
    items[item_id] = item
    return {"item_id": item_id, "item": item, "importance": importance}
