"""docs/index.md: the example on the home page."""

from docs_src.home import main
from trioapi.testclient import TestClient


def test_read_item_answers_with_the_item_and_its_stock():
    with TestClient(main.app) as client:
        response = client.get("/items/1")
    assert response.status_code == 200
    assert response.json() == {"item": {"name": "Hammer", "price": 9.5}, "in_stock": 7}


def test_unknown_item_is_404_and_bad_id_is_422():
    with TestClient(main.app) as client:
        assert client.get("/items/5").json() == {"detail": "Item not found"}
        response = client.get("/items/five")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "item_id"]


def test_create_item_validates_the_body():
    with TestClient(main.app) as client:
        created = client.post("/items/2", json={"name": "Saw", "price": 12})
        refused = client.post("/items/3", json={"name": "Saw"})
    assert (created.status_code, created.json()) == (201, {"name": "Saw", "price": 12.0})
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "price"]
    main.items.pop(2)


async def test_a_slow_stock_service_hits_the_routes_deadline(autojump_clock, monkeypatch):
    import trio

    from trioapi.testing import AsyncTestClient

    async def slow_stock_level(item_id: int) -> int:
        await trio.sleep(5)
        return 0

    main.app.dependency_overrides[main.stock_level] = slow_stock_level
    try:
        async with AsyncTestClient(main.app) as client:
            response = await client.get("/items/1")
    finally:
        main.app.dependency_overrides.clear()
    assert (response.status_code, response.json()) == (504, {"detail": "Gateway Timeout"})
