"""The per-request shortcuts of routing and responses do what the general paths do."""

from __future__ import annotations

import pytest

from trioapi.applications import TrioAPI
from trioapi.background import BackgroundTask
from trioapi.exceptions import ResponseValidationError
from trioapi.param_functions import Depends
from trioapi.responses import PlainTextResponse, Response
from trioapi.testclient import TestClient

# --- an endpoint without parameters (served without a Request or a solution) ----------


def test_a_parameterless_endpoints_response_validation_error_names_the_endpoint() -> None:
    app = TrioAPI()

    @app.get("/broken")
    async def broken() -> int:
        return "not a number"  # type: ignore[return-value]

    with TestClient(app) as client, pytest.raises(ResponseValidationError) as caught:
        client.get("/broken")
    assert caught.value.endpoint_ctx is not None
    assert caught.value.endpoint_ctx["function"] == "broken"
    assert caught.value.endpoint_ctx["path"] == "GET /broken"


def test_a_parameterless_endpoints_returned_response_runs_its_background_task() -> None:
    app = TrioAPI()
    ran: list[str] = []

    @app.get("/done")
    async def done() -> Response:
        return PlainTextResponse("ok", background=BackgroundTask(ran.append, "task"))

    with TestClient(app) as client:
        response = client.get("/done")
    assert (response.status_code, response.text) == (200, "ok")
    assert ran == ["task"]


def test_a_dependency_added_to_a_parameterless_route_runs() -> None:
    app = TrioAPI()
    calls: list[str] = []

    @app.get("/plain")
    async def plain() -> dict[str, str]:
        return {"ok": "yes"}

    with TestClient(app) as client:
        assert client.get("/plain").json() == {"ok": "yes"}
        route = app.routes[-1]
        route.add_dependency(Depends(lambda: calls.append("dependency")))  # type: ignore[attr-defined]
        assert client.get("/plain").json() == {"ok": "yes"}
    assert calls == ["dependency"]


def test_a_parameterless_route_with_a_route_dependency_overridden_runs_the_override() -> None:
    app = TrioAPI()
    calls: list[str] = []

    def original() -> None:
        calls.append("original")

    @app.get("/plain", dependencies=[Depends(original)])
    async def plain() -> str:
        return "ok"

    app.dependency_overrides[original] = lambda: calls.append("override")
    with TestClient(app) as client:
        assert client.get("/plain").json() == "ok"
    assert calls == ["override"]


def test_a_parameterless_endpoint_with_a_status_code_and_class_answers_with_them() -> None:
    app = TrioAPI()

    @app.get("/created", status_code=201, response_class=PlainTextResponse)
    async def created() -> str:
        return "made"

    @app.get("/empty", status_code=204)
    async def empty() -> None:
        return None

    with TestClient(app) as client:
        made = client.get("/created")
        empty_response = client.get("/empty")
    assert (made.status_code, made.text) == (201, "made")
    assert made.headers["content-type"] == "text/plain; charset=utf-8"
    assert (empty_response.status_code, empty_response.content) == (204, b"")
    assert "content-length" not in empty_response.headers


# --- Response headers ---------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 1023, 1024, 70000])
def test_content_length_is_the_body_length_for_small_and_large_bodies(size: int) -> None:
    response = Response(b"x" * size, media_type="application/octet-stream")
    assert response.raw_headers == [
        (b"content-length", str(size).encode()),
        (b"content-type", b"application/octet-stream"),
    ]


def test_given_headers_keep_their_content_type_and_length() -> None:
    response = PlainTextResponse("hi", headers={"Content-Type": "text/x-own", "X-A": "1"})
    assert response.raw_headers == [
        (b"content-type", b"text/x-own"),
        (b"x-a", b"1"),
        (b"content-length", b"2"),
    ]
