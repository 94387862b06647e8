from functools import partial

import httpx
import pytest
import trio
from hypercorn.config import Config
from hypercorn.trio import serve

from .main import app, events


@pytest.fixture
async def base_url():
    """Serve the app with hypercorn's trio worker on a free port for one test."""
    config = Config()
    config.bind = ["127.0.0.1:0"]
    shutdown = trio.Event()
    async with trio.open_nursery() as nursery:
        binds = await nursery.start(
            partial(serve, app, config, shutdown_trigger=app.shutdown_trigger(shutdown.wait))
        )
        yield binds[0]  # e.g. http://127.0.0.1:41234
        shutdown.set()


async def test_hello_over_http(base_url):
    async with httpx.AsyncClient(base_url=base_url) as client:
        response = await client.get("/hello/Ann")
    assert response.json() == {"message": "Hello, Ann"}


async def test_a_client_that_leaves_ends_the_request(base_url):
    events.clear()
    async with httpx.AsyncClient(base_url=base_url) as client:
        with trio.move_on_after(0.5):  # give up on the 60-second report
            await client.get("/report")
    for _ in range(500):  # up to 5 real seconds: this test uses a real socket
        if events == ["session opened", "session closed"]:
            break
        await trio.sleep(0.01)
    assert events == ["session opened", "session closed"]
