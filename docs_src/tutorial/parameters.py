from enum import StrEnum
from typing import Annotated

from trioapi import Path, Query, TrioAPI

app = TrioAPI()


class ModelName(StrEnum):
    alexnet = "alexnet"
    resnet = "resnet"


@app.get("/items/{item_id}")
async def read_item(
    item_id: Annotated[int, Path(ge=1)],  # /items/0 and /items/foo are 422
    q: str | None = None,  # optional query parameter
    short: bool = False,  # ?short=1, true, on, yes
):
    item = {"item_id": item_id}
    if q:
        item["q"] = q
    if not short:
        item["description"] = "A long description"
    return item


@app.get("/models/{model_name}")
async def get_model(model_name: ModelName):
    return {"model_name": model_name, "is_resnet": model_name is ModelName.resnet}


@app.get("/search")
async def search(
    q: Annotated[str, Query(min_length=3, max_length=50)],
    tags: Annotated[list[str], Query()] = [],  # ?tags=a&tags=b
    skip: int = 0,
    limit: Annotated[int, Query(le=100)] = 10,
):
    return {"q": q, "tags": tags, "skip": skip, "limit": limit}
