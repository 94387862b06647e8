"""Errors that say what to do: the wrong event loop, asyncio calls, and where validation failed."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from typing import Annotated

import pytest
from pydantic import BaseModel

from tests.trio_support import call
from trioapi import TrioAPI
from trioapi._foreign import ForeignObjectError
from trioapi._runtime import ASYNCIO_HINT
from trioapi.exceptions import ResponseValidationError
from trioapi.testclient import TestClient

EXPECTED = "trioapi runs on Trio: serve it with `hypercorn --worker-class trio` or `trioapi run`"

# In a process of its own: once trio-asyncio is imported (other tests do),
# asyncio.run in the test process runs on its loop policy.
ON_ASYNCIO = """
import asyncio, httpx
from trioapi import TrioAPI

app = TrioAPI()

async def over_httpx():
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        await client.get("/")

try:
    asyncio.run(over_httpx())
except Exception as exc:
    print(type(exc).__name__ + ":", exc)

async def receive():
    return {"type": "lifespan.startup"}

async def send(message):
    print(message["type"] + ":", message["message"])

asyncio.run(TrioAPI()({"type": "lifespan"}, receive, send))
"""


def test_an_app_called_from_asyncio_fails_at_once_saying_how_to_serve_it():
    result = subprocess.run(
        [sys.executable, "-c", ON_ASYNCIO], capture_output=True, text=True, timeout=60, check=False
    )
    request, lifespan = result.stdout.splitlines()
    # httpx's ASGITransport: the request raises; a server: the lifespan startup fails.
    assert request.startswith(f"WrongRuntimeError: {EXPECTED} (it was called from asyncio).")
    assert lifespan.startswith(f"lifespan.startup.failed: {EXPECTED}")


def test_hypercorn_without_the_trio_worker_stops_with_the_message(tmp_path):
    (tmp_path / "plain.py").write_text("from trioapi import TrioAPI\napp = TrioAPI()\n")
    result = subprocess.run(
        [sys.executable, "-m", "hypercorn", "--workers", "0", "--bind", "127.0.0.1:0", "plain:app"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert EXPECTED in result.stderr + result.stdout


async def test_an_asyncio_call_in_an_endpoint_is_logged_with_a_hint(caplog):
    app = TrioAPI()

    @app.get("/sleepy")
    async def sleepy():
        await asyncio.sleep(0.01)

    with pytest.raises(RuntimeError, match="no running event loop"):
        await call(app, "/sleepy")
    [record] = [r for r in caplog.records if r.name == "trioapi" and r.levelno == logging.ERROR]
    assert record.getMessage().startswith("Unhandled error in GET /sleepy (request id ")
    assert record.getMessage().endswith(ASYNCIO_HINT)
    assert "trio.sleep" in ASYNCIO_HINT and "asyncio_bridge" in ASYNCIO_HINT


async def test_other_errors_get_no_hint(caplog):
    app = TrioAPI()

    @app.get("/boom")
    async def boom():
        raise RuntimeError("not about asyncio")

    with pytest.raises(RuntimeError, match="not about asyncio"):
        await call(app, "/boom")
    assert "hint" not in caplog.records[-1].getMessage()


class Item(BaseModel):
    name: str


def test_response_validation_error_names_the_endpoint_file_line_and_route():
    app = TrioAPI()

    @app.get("/items/{item_id}", response_model=Item)
    async def read_item(item_id: int):
        return {"title": "no name"}

    with pytest.raises(ResponseValidationError) as info:
        TestClient(app).get("/items/3")
    error = info.value
    assert (error.endpoint_function, error.endpoint_path) == ("read_item", "GET /items/{item_id}")
    assert error.endpoint_file == __file__
    assert str(error).endswith(
        f'  File "{__file__}", line {error.endpoint_line}, in read_item\n    GET /items/{{item_id}}'
    )
    assert str(error).startswith(
        "1 validation error:\n  {'type': 'missing', 'loc': ('response', 'name')"
    )


# -- FastAPI's and Starlette's objects, recognised by module name ---------------


def foreign(module: str, name: str) -> type:
    """A stand-in for a class of the fastapi or starlette package (neither is installed)."""
    return type(name, (), {"__module__": module})


FastAPIDepends = foreign("fastapi.params", "Depends")
StarletteJSONResponse = foreign("starlette.responses", "JSONResponse")
FastAPIHTTPException = type("HTTPException", (Exception,), {"__module__": "fastapi.exceptions"})


def get_db():
    return "db"


async def read_items(db=FastAPIDepends()):
    return db


def test_a_fastapi_depends_default_is_refused_naming_the_trioapi_import():
    with pytest.raises(ForeignObjectError) as info:
        TrioAPI().get("/items")(read_items)
    assert str(info.value) == (
        "GET /items: parameter 'db' of read_items() uses fastapi.params.Depends, from the fastapi "
        "package, which trioapi does not understand. Import it from trioapi: "
        "`from trioapi import Depends`."
    )


def test_fastapi_objects_in_annotated_response_class_and_dependencies_are_refused():
    app = TrioAPI()
    with pytest.raises(ForeignObjectError, match=r"parameter 'q' of .*fastapi\.params\.Depends"):

        @app.get("/a")
        async def a(q: Annotated[str, FastAPIDepends()]):
            return q

    with pytest.raises(ForeignObjectError, match=r"/b: response_class uses starlette\.responses"):
        app.get("/b", response_class=StarletteJSONResponse)(get_db)
    with pytest.raises(ForeignObjectError, match=r"`from trioapi\.responses import JSONResponse`"):
        app.get("/b", response_class=StarletteJSONResponse)(get_db)
    with pytest.raises(ForeignObjectError, match=r"/c: dependencies= uses fastapi\.params"):
        app.get("/c", dependencies=[FastAPIDepends()])(get_db)
    with pytest.raises(ForeignObjectError, match=r"add_exception_handler\(\) uses fastapi\.exc"):
        app.add_exception_handler(FastAPIHTTPException, get_db)


def test_a_returned_starlette_response_is_an_error_not_its_attributes_as_json():
    app = TrioAPI()

    @app.get("/r")
    async def r():
        return StarletteJSONResponse()

    with pytest.raises(ForeignObjectError, match=r"starlette\.responses\.JSONResponse"):
        TestClient(app).get("/r")


async def test_a_raised_fastapi_exception_is_logged_with_the_import_to_use(caplog):
    app = TrioAPI()

    @app.get("/missing")
    async def missing():
        raise FastAPIHTTPException()

    with pytest.raises(FastAPIHTTPException):
        await call(app, "/missing")
    assert (
        caplog.records[-1]
        .getMessage()
        .endswith(
            "(hint: the error is fastapi.exceptions.HTTPException, from the fastapi package, which "
            "trioapi does not understand. Import it from trioapi: "
            "`from trioapi.exceptions import HTTPException`.)"
        )
    )
