"""docs/tutorial: bigger applications, WebSockets, streaming and SSE, the first test."""

from pathlib import Path

import trio

from docs_src.tutorial import frontend, streaming, websockets
from docs_src.tutorial.bigger_app import main as bigger
from docs_src.tutorial.test_first_steps import test_read_root  # noqa: F401 (runs here)
from trioapi.testclient import TestClient
from trioapi.testing import AsyncTestClient

ROOT = Path(__file__).resolve().parents[2]
TOKEN = {"X-Token": "fake-super-secret-token"}


def test_routers_add_their_prefix_tags_and_dependencies():
    client = TestClient(bigger.app)
    assert client.get("/").json() == {"message": "Hello Bigger Applications!"}
    assert client.get("/users/").json() == [{"username": "Rick"}, {"username": "Morty"}]
    assert client.get("/items/plumbus", headers=TOKEN).json() == {
        "name": "Plumbus",
        "item_id": "plumbus",
    }
    assert client.get("/items/plumbus").status_code == 422  # no X-Token
    assert client.get("/items/x", headers=TOKEN).json() == {"detail": "Item not found"}
    schema = client.get("/openapi.json").json()
    assert schema["paths"]["/items/{item_id}"]["get"]["tags"] == ["items"]


async def test_the_routers_timeout_and_the_routes_own(autojump_clock):
    async with AsyncTestClient(bigger.app, headers=TOKEN) as client:
        start = trio.current_time()
        slow = await client.get("/items/plumbus/report", params={"hours": 1})
        assert (slow.status_code, trio.current_time() - start) == (504, 30)
        fast = await client.get("/items/plumbus/report", params={"hours": 0.001})
        assert fast.json() == {"item_id": "plumbus", "report": "ready"}


def test_echo_websocket(capsys):
    with TestClient(websockets.app).websocket_connect("/echo") as ws:
        ws.send_text("hi")
        assert ws.receive_text() == "echo: hi"
    assert "client left with code 1000" in capsys.readouterr().out


async def test_ticker_sends_ticks_until_told_to_stop(autojump_clock):
    async with AsyncTestClient(websockets.app) as client:
        async with client.websocket_connect("/ticker?interval=0.5") as ws:
            assert [await ws.receive_json() for _ in range(3)] == [
                {"tick": 0},
                {"tick": 1},
                {"tick": 2},
            ]
            await ws.send_text("stop")
            message = await ws.receive()
            while message["type"] == "websocket.send":  # ticks already on their way
                message = await ws.receive()
            assert message["type"] == "websocket.close"


async def test_streaming_and_server_sent_events(autojump_clock):
    async with AsyncTestClient(streaming.app) as client:
        countdown = await client.get("/countdown", params={"start": 2})
        assert countdown.text == "2\n1\n0\n"
        prices = await client.get("/prices")
    assert prices.headers["content-type"].startswith("text/event-stream")
    assert prices.text == (
        'data: {"symbol":"TRIO","price":10.0}\n\n'
        'data: {"symbol":"TRIO","price":11.0}\n\n'
        'data: {"symbol":"TRIO","price":12.0}\n\n'
        "event: closed\ndata: market closed\n\n"
    )


def test_frontend_build_after_the_api():
    client = TestClient(frontend.app)
    assert client.get("/api/items").json() == [{"name": "Plumbus"}]
    index = (ROOT / "docs_src/tutorial/frontend_dist/index.html").read_text()
    script = (ROOT / "docs_src/tutorial/frontend_dist/assets/app.js").read_text()
    asset = client.get("/assets/app.js")
    assert (asset.text, asset.headers["content-type"][:15]) == (script, "text/javascript")
    assert client.get("/").text == index
    page = {"accept": "text/html"}
    assert client.get("/orders/7", headers=page).text == index  # a client-side route
    assert client.get("/orders/7").status_code == 404  # a fetch is not a navigation
    assert list(client.get("/openapi.json").json()["paths"]) == ["/api/items"]
