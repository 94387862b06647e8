"""Tutorial, "Handling Errors": HTTPException, custom exception handlers, and
overriding (or reusing) the default handlers for HTTP and validation errors.
"""

from pydantic import BaseModel

from trioapi import HTTPException, Request, TrioAPI
from trioapi.encoders import jsonable_encoder
from trioapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from trioapi.exceptions import RequestValidationError
from trioapi.responses import JSONResponse, PlainTextResponse
from trioapi.testclient import TestClient


class UnicornException(Exception):
    def __init__(self, name: str) -> None:
        self.name = name


class Item(BaseModel):
    title: str
    size: int


def test_http_exception_answers_with_its_detail_status_and_headers():
    app = TrioAPI()
    items = {"foo": "The Foo Wrestlers"}

    @app.get("/items/{item_id}")
    async def read_item(item_id: str):
        if item_id not in items:
            raise HTTPException(404, detail="Item not found", headers={"X-Error": "There goes"})
        return {"item": items[item_id]}

    @app.get("/structured")
    async def structured():
        raise HTTPException(400, detail={"code": 7, "fields": ["a"]})

    client = TestClient(app)
    assert client.get("/items/foo").json() == {"item": "The Foo Wrestlers"}
    response = client.get("/items/bar")
    assert response.status_code == 404
    assert response.json() == {"detail": "Item not found"}
    assert response.headers["x-error"] == "There goes"
    assert client.get("/structured").json() == {"detail": {"code": 7, "fields": ["a"]}}


def test_a_custom_exception_has_its_own_handler():
    app = TrioAPI()

    @app.exception_handler(UnicornException)
    async def unicorn_handler(request: Request, exc: UnicornException):
        return JSONResponse(
            status_code=418, content={"message": f"Oops! {exc.name} did a rainbow."}
        )

    @app.get("/unicorns/{name}")
    async def read_unicorn(name: str):
        if name == "yolo":
            raise UnicornException(name)
        return {"unicorn_name": name}

    client = TestClient(app)
    assert client.get("/unicorns/shinny").json() == {"unicorn_name": "shinny"}
    response = client.get("/unicorns/yolo")
    assert response.status_code == 418
    assert response.json() == {"message": "Oops! yolo did a rainbow."}


def overridden_app() -> TrioAPI:
    app = TrioAPI()

    @app.exception_handler(HTTPException)
    async def plain_http_error(request: Request, exc: HTTPException):
        return PlainTextResponse(str(exc.detail), status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def plain_validation_error(request: Request, exc: RequestValidationError):
        lines = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        return PlainTextResponse("\n".join(lines), status_code=400)

    @app.get("/items/{item_id}")
    async def read_item(item_id: int):
        if item_id == 3:
            raise HTTPException(418, detail="Nope! I don't like 3.")
        return {"item_id": item_id}

    return app


def test_the_http_exception_handler_can_be_replaced():
    response = TestClient(overridden_app()).get("/items/3")
    assert response.status_code == 418
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text == "Nope! I don't like 3."


def test_the_validation_error_handler_can_be_replaced():
    response = TestClient(overridden_app()).get("/items/foo")
    assert response.status_code == 400
    assert response.text == (
        "path.item_id: Input should be a valid integer, unable to parse string as an integer"
    )


def test_the_validation_error_carries_the_received_body():
    app = TrioAPI()

    @app.exception_handler(RequestValidationError)
    async def echo_body(request: Request, exc: RequestValidationError):
        return JSONResponse(
            status_code=422, content=jsonable_encoder({"detail": exc.errors(), "body": exc.body})
        )

    @app.post("/items")
    async def create(item: Item):
        return item

    response = TestClient(app).post("/items", json={"title": "towel", "size": "XL"})
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {
                "type": "int_parsing",
                "loc": ["body", "size"],
                "msg": "Input should be a valid integer, unable to parse string as an integer",
                "input": "XL",
            }
        ],
        "body": {"title": "towel", "size": "XL"},
    }


def test_custom_handlers_can_reuse_the_default_ones():
    app = TrioAPI()
    seen = []

    @app.exception_handler(HTTPException)
    async def logged_http_error(request: Request, exc: HTTPException):
        seen.append(f"http {exc.status_code}")
        return await http_exception_handler(request, exc)

    @app.exception_handler(RequestValidationError)
    async def logged_validation_error(request: Request, exc: RequestValidationError):
        seen.append(f"validation {len(exc.errors())}")
        return await request_validation_exception_handler(request, exc)

    @app.get("/items/{item_id}")
    async def read_item(item_id: int):
        if item_id == 3:
            raise HTTPException(418, detail="Nope! I don't like 3.")
        return {"item_id": item_id}

    client = TestClient(app)
    teapot = client.get("/items/3")
    assert (teapot.status_code, teapot.json()) == (418, {"detail": "Nope! I don't like 3."})
    invalid = client.get("/items/x")
    assert invalid.status_code == 422
    assert invalid.json()["detail"][0]["loc"] == ["path", "item_id"]
    assert seen == ["http 418", "validation 1"]
