"""A graceful shutdown belongs to one server run, not to the app object for ever."""

from trioapi import TrioAPI, WebSocket
from trioapi.testing import AsyncTestClient


def websocket_app() -> TrioAPI:
    app = TrioAPI()

    @app.websocket("/ws")
    async def echo(websocket: WebSocket):
        await websocket.accept()
        await websocket.send_text(await websocket.receive_text())
        await websocket.close()

    return app


async def finished() -> None:
    pass


async def test_a_new_lifespan_serves_websockets_after_an_earlier_run_shut_down():
    app = websocket_app()
    async with AsyncTestClient(app):
        await app.shutdown_trigger(finished)()  # the first server run shuts down
    async with AsyncTestClient(app) as client, client.websocket_connect("/ws") as websocket:
        await websocket.send_text("still open")
        assert await websocket.receive_text() == "still open"
