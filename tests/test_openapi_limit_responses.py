"""Routes that set their own deadline or body limits document the 504/413/408 they can answer."""

from __future__ import annotations

from pydantic import BaseModel

from trioapi import TrioAPI

ERROR = {
    "application/json": {
        "schema": {
            "type": "object",
            "title": "HTTPError",
            "properties": {"detail": {"type": "string", "title": "Detail"}},
            "required": ["detail"],
        }
    }
}


class Item(BaseModel):
    name: str


def build_app() -> TrioAPI:
    app = TrioAPI()

    @app.post("/plain")
    async def plain(item: Item):
        return item

    @app.get("/slow", timeout=2.0)
    async def slow():
        return "done"

    @app.post(
        "/upload", max_body_size=1024, body_timeout=5.0, responses={413: {"description": "Ours"}}
    )
    async def upload(item: Item):
        return item

    @app.get("/no-body", max_body_size=1024)
    async def no_body():
        return "nothing read"

    return app


def responses(app: TrioAPI, path: str, method: str = "get") -> dict:
    return app.openapi()["paths"][path][method]["responses"]


def test_a_route_with_a_timeout_documents_its_504():
    assert responses(build_app(), "/slow")["504"] == {
        "description": "The request took longer than the route's timeout",
        "content": ERROR,
    }


def test_body_limits_document_413_and_408_and_the_routes_own_responses_win():
    upload = responses(build_app(), "/upload", "post")
    assert sorted(upload) == ["200", "408", "413", "422"]
    assert upload["413"] == {"description": "Ours"}
    assert (
        upload["408"]["description"]
        == "The request body did not arrive within the route's body_timeout"
    )


def test_routes_without_their_own_limits_keep_fastapis_document():
    app = build_app()
    assert sorted(responses(app, "/plain", "post")) == ["200", "422"]
    assert sorted(responses(app, "/no-body")) == ["200"]  # reads no body: no 413


def test_the_app_can_turn_the_limit_responses_off():
    app = build_app()
    app.openapi_limit_responses = False
    assert sorted(responses(app, "/slow")) == ["200"]
    assert sorted(responses(app, "/upload", "post")) == ["200", "413", "422"]
