from typing import Annotated

from trioapi import Depends, Header, HTTPException, TrioAPI


async def verify_key(x_key: Annotated[str, Header()]) -> str:
    if x_key != "secret":
        raise HTTPException(status_code=403, detail="X-Key header invalid")
    return x_key


app = TrioAPI(dependencies=[Depends(verify_key)])  # every route needs the key


async def pagination(skip: int = 0, limit: int = 10) -> dict[str, int]:
    return {"skip": skip, "limit": limit}


Page = Annotated[dict[str, int], Depends(pagination)]


class Filters:
    """A class is a dependency too: its __init__ parameters are read from the request."""

    def __init__(self, q: str | None = None, in_stock: bool = False):
        self.q = q
        self.in_stock = in_stock


@app.get("/items")
async def list_items(page: Page, filters: Annotated[Filters, Depends()]):
    return {"page": page, "q": filters.q, "in_stock": filters.in_stock}


@app.get("/users")
async def list_users(page: Page):
    return {"page": page}
