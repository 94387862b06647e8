"""The deprecated third-party JSON responses: UJSONResponse and ORJSONResponse."""

from __future__ import annotations

import sys

import pytest

from trioapi import TrioAPI
from trioapi.exceptions import TrioAPIDeprecationWarning
from trioapi.responses import ORJSONResponse, Response, UJSONResponse
from trioapi.testclient import TestClient


def test_ujson_response_keeps_non_ascii_as_utf8_and_warns() -> None:
    with pytest.warns(TrioAPIDeprecationWarning, match="UJSONResponse is deprecated"):
        response = UJSONResponse({"name": "café", "n": [1, 2]})
    assert response.body == '{"name":"café","n":[1,2]}'.encode()
    assert response.headers["content-type"] == "application/json"


def test_orjson_response_serializes_non_string_keys_and_warns() -> None:
    with pytest.warns(TrioAPIDeprecationWarning, match="ORJSONResponse is deprecated"):
        response = ORJSONResponse({1: "one", "two": 2})
    assert response.body == b'{"1":"one","two":2}'
    assert response.headers["content-type"] == "application/json"


@pytest.mark.filterwarnings("ignore::trioapi.exceptions.TrioAPIDeprecationWarning")
def test_orjson_response_class_on_a_route_sends_the_body() -> None:
    app = TrioAPI()

    @app.get("/items/", response_class=ORJSONResponse)
    async def read_items() -> list[dict[str, str]]:
        return [{"item_id": "Foo"}]

    response = TestClient(app).get("/items/")
    assert response.status_code == 200
    assert response.content == b'[{"item_id":"Foo"}]'
    assert response.headers["content-type"] == "application/json"


@pytest.mark.filterwarnings("ignore::trioapi.exceptions.TrioAPIDeprecationWarning")
@pytest.mark.parametrize(
    ("response_class", "library"), [(UJSONResponse, "ujson"), (ORJSONResponse, "orjson")]
)
def test_missing_json_library_is_reported_with_the_fix(
    monkeypatch: pytest.MonkeyPatch, response_class: type[UJSONResponse], library: str
) -> None:
    # None in sys.modules makes `import library` raise ImportError.
    monkeypatch.setitem(sys.modules, library, None)
    with pytest.raises(ImportError, match=rf"needs the '{library}' package.*pip install {library}"):
        response_class({"a": 1})


def test_typed_and_strided_memoryviews_are_sent_as_their_bytes():

    typed = TestClient(Response(content=memoryview(b"01234567").cast("I"))).get("/")
    strided = TestClient(Response(content=memoryview(b"01234567")[::2])).get("/")

    assert (typed.content, typed.headers["content-length"]) == (b"01234567", "8")
    assert (strided.content, strided.headers["content-length"]) == (b"0246", "4")


def test_delete_cookie_can_drop_a_partitioned_cookie():
    response = Response()
    response.delete_cookie("id", secure=True, samesite="none", partitioned=True)

    assert "Partitioned" in response.headers["set-cookie"]
    assert "Max-Age=0" in response.headers["set-cookie"]
