"""strict_content_type: which request bodies are parsed as JSON."""

from pydantic import BaseModel

from trioapi import APIRouter, TrioAPI
from trioapi.testclient import TestClient

BODY = '{"name": "Foo", "price": 50.5}'


class Item(BaseModel):
    name: str
    price: float


def make_app(**options: bool) -> TrioAPI:
    app = TrioAPI(**options)

    @app.post("/items/")
    async def create_item(item: Item) -> Item:
        return item

    return app


def test_strict_app_rejects_a_body_without_content_type() -> None:
    response = TestClient(make_app()).post("/items/", content=BODY)
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "model_attributes_type"


def test_lax_app_parses_a_body_without_content_type_as_json() -> None:
    response = TestClient(make_app(strict_content_type=False)).post("/items/", content=BODY)
    assert response.status_code == 200, response.text
    assert response.json() == {"name": "Foo", "price": 50.5}


def test_lax_app_still_rejects_a_non_json_content_type() -> None:
    client = TestClient(make_app(strict_content_type=False))
    response = client.post("/items/", content=BODY, headers={"content-type": "text/plain"})
    assert response.status_code == 422
    json_response = client.post(
        "/items/", content=BODY, headers={"content-type": "application/json"}
    )
    assert json_response.json() == {"name": "Foo", "price": 50.5}


def test_lax_route_in_a_strict_app_parses_a_body_without_content_type() -> None:
    app = TrioAPI()

    @app.post("/items/", strict_content_type=False)
    async def create_item(item: Item) -> Item:
        return item

    assert TestClient(app).post("/items/", content=BODY).json() == {"name": "Foo", "price": 50.5}


def test_strict_route_in_a_lax_app_stays_strict() -> None:
    app = TrioAPI(strict_content_type=False)

    @app.post("/strict/", strict_content_type=True)
    async def strict_item(item: Item) -> Item:
        return item

    @app.post("/lax/")
    async def lax_item(item: Item) -> Item:
        return item

    client = TestClient(app)
    assert client.post("/strict/", content=BODY).status_code == 422
    assert client.post("/lax/", content=BODY).json() == {"name": "Foo", "price": 50.5}


def test_router_setting_applies_to_its_routes_and_an_inner_router_wins() -> None:
    app = TrioAPI()  # strict
    outer = APIRouter(prefix="/outer", strict_content_type=False)
    inner = APIRouter(prefix="/inner", strict_content_type=True)
    plain = APIRouter(prefix="/plain")

    @outer.post("/items/")
    async def outer_item(item: Item) -> Item:
        return item

    @inner.post("/items/")
    async def inner_item(item: Item) -> Item:
        return item

    @plain.post("/items/")
    async def plain_item(item: Item) -> Item:
        return item

    outer.include_router(inner)
    outer.include_router(plain)
    app.include_router(outer)
    client = TestClient(app)
    assert client.post("/outer/items/", content=BODY).json() == {"name": "Foo", "price": 50.5}
    assert client.post("/outer/inner/items/", content=BODY).status_code == 422
    # A router that sets nothing follows the router that includes it.
    assert client.post("/outer/plain/items/", content=BODY).status_code == 200


def test_router_without_a_setting_follows_the_app() -> None:
    app = TrioAPI(strict_content_type=False)
    router = APIRouter()

    @router.post("/items/")
    async def create_item(item: Item) -> Item:
        return item

    app.include_router(router)
    assert TestClient(app).post("/items/", content=BODY).status_code == 200


def test_include_router_setting_applies_to_routes_that_set_none() -> None:
    app = TrioAPI()
    router = APIRouter()

    @router.post("/items/")
    async def create_item(item: Item) -> Item:
        return item

    app.include_router(router, prefix="/lax", strict_content_type=False)
    assert TestClient(app).post("/lax/items/", content=BODY).status_code == 200
