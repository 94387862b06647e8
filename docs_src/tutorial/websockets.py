import trio

from trioapi import TrioAPI, WebSocket, WebSocketDisconnect

app = TrioAPI()


@app.websocket("/echo")
async def echo(websocket: WebSocket):
    await websocket.accept()
    try:
        while True:
            text = await websocket.receive_text()
            await websocket.send_text(f"echo: {text}")
    except WebSocketDisconnect as disconnect:
        print(f"client left with code {disconnect.code}")


@app.websocket("/ticker")
async def ticker(websocket: WebSocket, interval: float = 1.0):
    await websocket.accept()

    async def send_ticks() -> None:
        tick = 0
        while True:
            await websocket.send_json({"tick": tick})
            tick += 1
            await trio.sleep(interval)

    # Two jobs, one connection: send ticks while waiting for "stop". When the
    # client says stop (or leaves), cancelling the nursery stops the ticks.
    async with trio.open_nursery() as nursery:
        nursery.start_soon(send_ticks)
        try:
            while await websocket.receive_text() != "stop":
                pass
        except WebSocketDisconnect:
            pass
        nursery.cancel_scope.cancel()
    await websocket.close()
