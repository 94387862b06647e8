"""docs/security.md: the ``Limits`` value."""

from docs_src.guides import limits
from trioapi import APIRouter, Limits
from trioapi.testclient import TestClient


def test_the_value_equals_the_keywords_it_stands_for():
    keywords = APIRouter(max_body_size=64 * 1024 * 1024, body_timeout=300, max_form_files=20)
    assert limits.uploads.limits == keywords.limits == limits.UPLOADS


def test_the_included_route_runs_under_the_router_value_and_the_app_timeout():
    route = limits.app.routes[-1]
    assert route.limits == limits.UPLOADS
    assert limits.app.request_limits.timeout == 30
    files = [("file", (f"{n}.txt", b"x")) for n in range(3)]
    response = TestClient(limits.app).post("/uploads/files", files=files)
    assert response.json() == {"files": 3}


def test_a_keyword_beside_the_value_replaces_one_setting():
    router = APIRouter(limits=limits.UPLOADS, max_form_files=5)
    assert router.limits == Limits(
        max_body_size=64 * 1024 * 1024, body_timeout=300, max_form_files=5
    )
