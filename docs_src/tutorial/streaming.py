from collections.abc import AsyncIterable, AsyncIterator

import trio
from pydantic import BaseModel

from trioapi import TrioAPI
from trioapi.responses import StreamingResponse
from trioapi.sse import EventSourceResponse, ServerSentEvent

app = TrioAPI()


class Price(BaseModel):
    symbol: str
    price: float


@app.get("/countdown")
async def countdown(start: int = 3) -> StreamingResponse:
    async def lines() -> AsyncIterator[str]:
        for value in range(start, -1, -1):
            yield f"{value}\n"
            await trio.sleep(1)  # the client leaving cancels the stream here

    return StreamingResponse(lines(), media_type="text/plain")


@app.get("/prices", response_class=EventSourceResponse)
async def prices() -> AsyncIterable[Price]:
    for tick in range(3):
        yield Price(symbol="TRIO", price=10 + tick)  # data: {"symbol":"TRIO","price":10.0}
        await trio.sleep(1)
    yield ServerSentEvent(event="closed", raw_data="market closed")  # sent as it is, not JSON
