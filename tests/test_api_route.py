"""APIRoute: its FastAPI attributes, and how endpoint results become responses."""

import threading
from typing import Annotated

import pytest
from pydantic import BaseModel

from trioapi._routing.api_route import APIRoute
from trioapi.applications import TrioAPI
from trioapi.background import BackgroundTasks
from trioapi.exceptions import HTTPException, TrioAPIError
from trioapi.param_functions import Body, Depends, Query
from trioapi.requests import Request
from trioapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from trioapi.testclient import TestClient
from trioapi.websockets import WebSocket


class Item(BaseModel):
    name: str
    price: float
    secret: str = "hidden"


class PublicItem(BaseModel):
    name: str
    price: float


# --- attributes ----------------------------------------------------------------------


def test_route_attributes_follow_fastapi():
    async def read_item(item_id: int, q: str | None = None) -> PublicItem:
        """Read an item.

        Shown in the docs.
        \f
        Not shown.
        """
        return PublicItem(name="x", price=1)

    route = APIRoute("/items/{item_id}", read_item, methods=["get"], tags=["items"])
    assert route.path == "/items/{item_id}"
    assert route.methods == {"GET"}
    assert route.name == "read_item"
    assert route.endpoint is read_item
    assert route.response_model is PublicItem
    assert route.unique_id == "read_item_items__item_id__get"
    assert route.description == "Read an item.\n\nShown in the docs."
    assert route.tags == ["items"]
    assert route.response_description == "Successful Response"
    assert [p.name for p in route.dependant.path_params] == ["item_id"]
    assert [p.name for p in route.dependant.query_params] == ["q"]
    assert route.body_field is None
    assert route.response_field is not None


def test_body_field_is_the_lone_body_parameter_or_a_model_of_the_embedded_ones():
    async def single(item: Item):
        return item

    async def several(item: Item, importance: Annotated[int, Body()]):
        return item

    assert APIRoute("/a", single, methods=["POST"]).body_field.name == "item"
    field = APIRoute("/b", several, methods=["POST"]).body_field
    assert field.annotation.__name__ == "Body_several_b_post"
    assert set(field.annotation.model_fields) == {"item", "importance"}


def test_response_model_with_a_no_body_status_code_is_a_registration_error():
    async def delete() -> Item:
        return Item(name="x", price=1)

    with pytest.raises(TrioAPIError, match="status code 204 must not have a response body"):
        APIRoute("/items", delete, methods=["DELETE"], status_code=204)


def test_get_route_does_not_answer_head_requests():
    app = TrioAPI()

    @app.get("/items")
    async def items():
        return []

    assert TestClient(app).head("/items").status_code == 405


# --- turning results into responses ----------------------------------------------------


def make_app(log: list[str]) -> TrioAPI:
    app = TrioAPI()

    @app.get("/items/{name}", response_model=PublicItem)
    async def read(name: str):
        return {"name": name, "price": 2, "secret": "s3cret"}

    @app.post("/items", status_code=201)
    def create(item: Item) -> Item:
        log.append(f"thread {threading.current_thread() is threading.main_thread()}")
        return item

    @app.delete("/items/{name}", status_code=204)
    async def delete(name: str):
        return None

    @app.get("/html", response_class=HTMLResponse)
    async def html():
        return "<h1>hi</h1>"

    @app.get("/text", response_class=PlainTextResponse)
    async def text() -> str:
        return "plain"

    @app.get("/direct")
    async def direct(tasks: BackgroundTasks, response: Response):
        response.headers["X-Ignored"] = "1"
        tasks.add_task(log.append, "background")
        return JSONResponse({"direct": True}, status_code=202)

    @app.get("/teapot")
    async def teapot():
        raise HTTPException(418, "I'm a teapot", headers={"X-Why": "tea"})

    @app.get("/not-modified")
    async def not_modified():
        raise HTTPException(304)

    return app


@pytest.fixture
def log() -> list[str]:
    return []


@pytest.fixture
def client(log) -> TestClient:
    return TestClient(make_app(log))


def test_response_model_filters_the_returned_data(client):
    response = client.get("/items/apple")
    assert response.json() == {"name": "apple", "price": 2.0}
    assert response.headers["content-type"] == "application/json"


def test_status_code_and_return_annotation_are_used(client, log):
    response = client.post("/items", json={"name": "a", "price": 1})
    assert response.status_code == 201
    assert response.json() == {"name": "a", "price": 1.0, "secret": "hidden"}
    assert log == ["thread False"]


def test_204_has_no_body(client):
    response = client.delete("/items/a")
    assert response.status_code == 204
    assert response.content == b""
    assert "content-length" not in response.headers


def test_response_class_renders_the_encoded_content(client):
    html = client.get("/html")
    assert html.text == "<h1>hi</h1>"
    assert html.headers["content-type"] == "text/html; charset=utf-8"
    assert client.get("/text").text == "plain"


def test_returned_response_passes_through_and_gains_the_background_tasks(client, log):
    response = client.get("/direct")
    assert response.status_code == 202
    assert response.json() == {"direct": True}
    assert "x-ignored" not in response.headers
    assert log == ["background"]


def test_http_exception_answers_with_detail_and_headers(client):
    response = client.get("/teapot")
    assert response.status_code == 418
    assert response.json() == {"detail": "I'm a teapot"}
    assert response.headers["x-why"] == "tea"


def test_http_exception_with_a_no_body_status_has_no_body(client):
    response = client.get("/not-modified")
    assert response.status_code == 304
    assert response.content == b""


def test_dependency_overrides_are_read_from_the_provider_given_to_the_route():
    class Provider:
        dependency_overrides: dict = {}

    def real():
        return "real"

    def endpoint(value: Annotated[str, Depends(real)]):
        return value

    provider = Provider()
    route = APIRoute("/", endpoint, dependency_overrides_provider=provider)
    assert route.plans.for_scope({}).steps[0].dependant.call is real
    provider.dependency_overrides = {real: lambda: "fake"}
    plan = route.plans.for_scope({})
    assert plan.steps[0].dependant.call is not real
    assert route.plans.for_scope({}) is plan  # compiled once per set of overrides


def test_the_matched_route_is_in_the_scope():
    app = TrioAPI()

    @app.get("/users/{user_id}")
    async def get_user(user_id: str, request: Request):
        return request.scope["route"].path

    @app.websocket("/items/{item_id}")
    async def item(item_id: str, websocket: WebSocket):
        await websocket.accept()
        await websocket.send_text(websocket.scope["route"].path)

    client = TestClient(app)
    assert client.get("/users/rick").json() == "/users/{user_id}"
    with client.websocket_connect("/items/gun") as websocket:
        assert websocket.receive_text() == "/items/{item_id}"


def test_a_dependency_added_to_a_registered_route_runs_and_is_documented():
    # The public hook extension libraries use (fastapi-pagination and the like).
    app = TrioAPI()
    seen = []

    @app.get("/items")
    async def items():
        return ["a"]

    @app.websocket("/ws")
    async def socket(websocket: WebSocket):
        await websocket.accept()
        await websocket.send_text("hi")
        await websocket.close()

    def paginate(page: int = 1):
        seen.append(page)

    route = next(r for r in app.routes if getattr(r, "path", None) == "/items")
    route.add_dependency(Depends(paginate))
    client = TestClient(app)
    assert client.get("/items", params={"page": "3"}).json() == ["a"]
    assert client.get("/items", params={"page": "x"}).status_code == 422
    assert seen == [3]
    parameters = app.openapi()["paths"]["/items"]["get"]["parameters"]
    assert [p["name"] for p in parameters] == ["page"]

    socket_route = next(r for r in app.routes if getattr(r, "path", None) == "/ws")
    socket_route.add_dependency(Depends(paginate))
    with client.websocket_connect("/ws?page=5") as websocket:
        assert websocket.receive_text() == "hi"
    assert seen == [3, 5]


def test_a_dependency_that_cannot_be_added_leaves_the_route_as_it_was():
    app = TrioAPI()

    @app.get("/items/{item_id}")
    async def item(item_id: int):
        return item_id

    def bad(q: Annotated[dict[str, int], Query()]):
        return q

    route = app.routes[-1]
    with pytest.raises(TrioAPIError, match="Query parameter 'q' must be one of the supported"):
        route.add_dependency(Depends(bad))
    assert route.dependencies == []
    assert TestClient(app).get("/items/2").json() == 2
