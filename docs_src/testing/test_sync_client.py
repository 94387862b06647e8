from trioapi.testclient import TestClient

from .main import app, weather_service


def test_hello():
    # `with` runs the lifespan (startup before, shutdown after), so its
    # state is there; without `with`, the lifespan does not run.
    with TestClient(app) as client:
        response = client.get("/hello/Ann")
    assert response.status_code == 200
    assert response.json() == {"message": "Hello, Ann"}


async def fake_weather(city: str) -> str:
    return "rainy"


def test_forecast_with_an_override():
    app.dependency_overrides[weather_service] = fake_weather
    try:
        with TestClient(app) as client:
            response = client.get("/forecast/Oslo")
    finally:
        app.dependency_overrides.clear()
    assert response.json() == {"city": "Oslo", "weather": "rainy"}


def test_websocket():
    with TestClient(app) as client, client.websocket_connect("/ws") as websocket:
        websocket.send_json({"hello": "world"})
        assert websocket.receive_json() == {"echo": {"hello": "world"}}
