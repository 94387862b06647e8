"""docs/tutorial: first steps, parameters, bodies, dependencies."""

import pytest

from docs_src.tutorial import body, dependencies, first_steps, parameters
from trioapi.testclient import TestClient


def test_first_steps_says_hello_and_documents_itself():
    client = TestClient(first_steps.app)
    assert client.get("/").json() == {"message": "Hello World"}
    schema = client.get("/openapi.json").json()
    assert schema["info"]["title"] == "TrioAPI"
    assert list(schema["paths"]) == ["/"]
    assert client.get("/docs").status_code == 200


def test_path_and_query_parameters_are_converted_and_validated():
    client = TestClient(parameters.app)
    assert client.get("/items/3?q=x&short=yes").json() == {"item_id": 3, "q": "x"}
    assert client.get("/items/3").json() == {"item_id": 3, "description": "A long description"}
    for bad in ("/items/0", "/items/foo"):
        response = client.get(bad)
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["path", "item_id"]
    assert client.get("/models/resnet").json() == {"model_name": "resnet", "is_resnet": True}
    assert client.get("/models/vgg").status_code == 422


def test_query_validation_and_lists():
    client = TestClient(parameters.app)
    response = client.get("/search?q=trio&tags=a&tags=b&limit=5")
    assert response.json() == {"q": "trio", "tags": ["a", "b"], "skip": 0, "limit": 5}
    too_short = client.get("/search?q=tr")
    assert too_short.status_code == 422
    assert too_short.json()["detail"][0]["type"] == "string_too_short"
    assert client.get("/search?q=trio&limit=101").status_code == 422


def test_bodies_are_validated_and_responses_filtered():
    client = TestClient(body.app)
    created = client.post("/items", json={"name": "Saw", "price": 3, "tags": ["x"]})
    assert (created.status_code, created.json()) == (201, {"id": 1, "name": "Saw", "price": 3.0})
    refused = client.post("/items", json={"name": "Saw", "price": 0})
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "price"]
    updated = client.put("/items/1", json={"item": {"name": "Axe", "price": 2}, "importance": 5})
    assert updated.json() == {
        "item_id": 1,
        "item": {"name": "Axe", "description": None, "price": 2.0, "tags": []},
        "importance": 5,
    }
    body.items.clear()


@pytest.mark.parametrize("path", ["/items", "/users"])
def test_global_dependency_guards_every_route(path):
    client = TestClient(dependencies.app)
    assert client.get(path).status_code == 422  # the header is required
    assert client.get(path, headers={"X-Key": "wrong"}).json() == {"detail": "X-Key header invalid"}
    assert client.get(path, headers={"X-Key": "secret"}).status_code == 200


def test_function_and_class_dependencies_read_the_query():
    client = TestClient(dependencies.app, headers={"X-Key": "secret"})
    assert client.get("/items?skip=20&q=saw&in_stock=1").json() == {
        "page": {"skip": 20, "limit": 10},
        "q": "saw",
        "in_stock": True,
    }
    assert client.get("/users?limit=3").json() == {"page": {"skip": 0, "limit": 3}}
