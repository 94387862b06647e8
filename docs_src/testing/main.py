from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import trio

from trioapi import Depends, Request, TrioAPI, WebSocket

events: list[str] = []


@asynccontextmanager
async def lifespan(app: TrioAPI) -> AsyncIterator[dict[str, str]]:
    yield {"greeting": "Hello"}  # request.state.greeting in every request


app = TrioAPI(lifespan=lifespan)


async def weather_service(city: str) -> str:
    await trio.sleep(1.5)  # stands for a call to a remote service
    return "sunny"


@app.get("/hello/{name}")
async def hello(name: str, request: Request):
    return {"message": f"{request.state.greeting}, {name}"}


@app.get("/forecast/{city}", timeout=2)
async def forecast(city: str, weather: Annotated[str, Depends(weather_service)]):
    return {"city": city, "weather": weather}


async def report_session():
    events.append("session opened")
    try:
        yield
    finally:
        events.append("session closed")


@app.get("/report", dependencies=[Depends(report_session)])
async def report():
    await trio.sleep(60)
    return {"report": "done"}


@app.websocket("/ws")
async def echo(websocket: WebSocket):
    await websocket.accept()
    message = await websocket.receive_json()
    await websocket.send_json({"echo": message})
    await websocket.close()
