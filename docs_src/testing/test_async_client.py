import trio

from trioapi.testing import AsyncTestClient

from .main import app, weather_service


async def test_hello():
    async with AsyncTestClient(app) as client:  # runs the lifespan
        response = await client.get("/hello/Ann")
    assert response.json() == {"message": "Hello, Ann"}


async def test_forecast_takes_the_services_time(autojump_clock):
    async with AsyncTestClient(app) as client:
        start = trio.current_time()
        response = await client.get("/forecast/Oslo")
    assert response.json() == {"city": "Oslo", "weather": "sunny"}
    assert trio.current_time() - start == 1.5  # virtual seconds: the test took none


async def slow_weather(city: str) -> str:
    await trio.sleep(10)
    return "late"


async def test_a_slow_service_hits_the_deadline(autojump_clock):
    app.dependency_overrides[weather_service] = slow_weather
    try:
        async with AsyncTestClient(app) as client:
            start = trio.current_time()
            response = await client.get("/forecast/Oslo")
    finally:
        app.dependency_overrides.clear()
    assert response.status_code == 504
    assert response.json() == {"detail": "Gateway Timeout"}
    assert trio.current_time() - start == 2  # the route's timeout=2


async def test_websocket():
    async with AsyncTestClient(app) as client, client.websocket_connect("/ws") as websocket:
        await websocket.send_json({"hello": "world"})
        assert await websocket.receive_json() == {"echo": {"hello": "world"}}
