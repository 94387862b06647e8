import trio

from trioapi import HTTPException, Request, TrioAPI
from trioapi.exceptions import RequestValidationError
from trioapi.responses import JSONResponse, PlainTextResponse

app = TrioAPI()


class OutOfStock(Exception):
    def __init__(self, item: str) -> None:
        self.item = item


@app.exception_handler(OutOfStock)
async def out_of_stock_handler(request: Request, exc: OutOfStock) -> JSONResponse:
    return JSONResponse(status_code=409, content={"detail": f"{exc.item} is out of stock"})


@app.exception_handler(RequestValidationError)
async def validation_handler(request: Request, exc: RequestValidationError) -> PlainTextResponse:
    return PlainTextResponse(f"Invalid request: {len(exc.errors())} error(s)", status_code=400)


@app.get("/items/{item}")
async def read_item(item: str, quantity: int = 1):
    if item == "ghost":
        raise HTTPException(status_code=404, detail="Item not found", headers={"X-Error": "ghost"})
    if item == "widget":
        raise OutOfStock(item)
    return {"item": item, "quantity": quantity}


async def check_warehouse(name: str) -> None:
    await trio.sleep(0.1)
    raise OutOfStock(name)


@app.get("/restock/{item}")
async def restock(item: str):
    # The error leaves the nursery inside an ExceptionGroup; trioapi unwraps a
    # single error, so the OutOfStock handler above answers.
    async with trio.open_nursery() as nursery:
        nursery.start_soon(check_warehouse, item)
    return {"restocked": item}
