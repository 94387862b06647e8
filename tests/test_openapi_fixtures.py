"""Every app shape of ``tests/openapi_shapes.py`` serves the document FastAPI 0.163 serves.

The expected documents are JSON fixtures written by
``tests/fixtures/generate_openapi_fixtures.py`` in a throwaway FastAPI
environment; this test needs no FastAPI.
"""

import json
from pathlib import Path

import pytest

from tests.openapi_shapes import SHAPES, framework
from trioapi.exceptions import TrioAPIDeprecationWarning
from trioapi.testclient import TestClient

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "openapi"

# Shapes that trioapi warns about when they are built, as FastAPI does (or, for
# root_path=, where trioapi points at the server option instead).
EXPECTED_WARNINGS = {
    "crud_methods": (UserWarning, "Duplicate Operation ID any_method_any_get"),
    "root_path": (TrioAPIDeprecationWarning, "root_path='/api/v1'"),
    "root_path_with_servers": (TrioAPIDeprecationWarning, "root_path='/api/v1'"),
}


def build_trioapi_app(name: str):
    expected = EXPECTED_WARNINGS.get(name)
    if expected is None:
        return SHAPES[name](framework("trioapi"))
    category, match = expected
    with pytest.warns(category, match=match):
        app = SHAPES[name](framework("trioapi"))
        if category is UserWarning:
            app.openapi()  # operation ids are checked when the document is built
    return app


def test_there_are_at_least_forty_shapes_each_with_a_fixture():
    assert len(SHAPES) >= 40
    assert sorted(path.stem for path in FIXTURES.glob("*.json")) == sorted(SHAPES)


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_openapi_json_equals_fastapis(name: str):
    expected = json.loads((FIXTURES / f"{name}.json").read_text())
    app = build_trioapi_app(name)
    with TestClient(app) as client:
        if expected is None:
            assert app.openapi_url is None
            assert client.get("/openapi.json").status_code == 404
            return
        response = client.get(app.openapi_url)
    assert response.status_code == 200
    assert response.json() == expected
