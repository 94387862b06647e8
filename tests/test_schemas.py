from __future__ import annotations

import pytest
import yaml

from trioapi.applications import Starlette
from trioapi.endpoints import HTTPEndpoint
from trioapi.requests import Request
from trioapi.responses import Response
from trioapi.routing import Host, Mount, Route, Router, WebSocketRoute
from trioapi.schemas import OpenAPIResponse, SchemaGenerator
from trioapi.testclient import TestClient
from trioapi.websockets import WebSocket

BASE = {"openapi": "3.2.0", "info": {"title": "Shop", "version": "1"}}


def list_items(request: Request) -> Response:
    """List the items.

    ---
    responses:
      200:
        description: The items.
    """
    return Response()


def get_item(request: Request) -> Response:
    """
    responses:
      200:
        description: One item.
    """
    return Response()


def prose_only(request: Request) -> Response:
    """Only words here."""
    return Response()


class Orders(HTTPEndpoint):
    def get(self, request: Request) -> Response:
        """
        summary: orders
        """
        return Response()

    def query(self, request: Request) -> Response:
        """
        summary: search orders
        """
        return Response()


async def socket(websocket: WebSocket) -> None:
    """
    summary: never listed
    """


def schema_endpoint(request: Request) -> Response:
    return SchemaGenerator(BASE).OpenAPIResponse(request)


routes = [
    Route("/items", list_items, methods=["GET", "HEAD"]),
    Route("/items/{item_id:int}", get_item),
    Route("/prose", prose_only),
    Route("/orders", Orders),
    Route("/hidden", get_item, include_in_schema=False),
    WebSocketRoute("/ws", socket),
    Mount("/v1", routes=[Route("/items/{item_id:int}", get_item)]),
    Host("api.example.com", app=Router(routes=[Route("/ping", get_item)])),
    Route("/schema", schema_endpoint, include_in_schema=False),
]


def test_schema_lists_documented_operations_with_plain_path_parameters():
    schema = SchemaGenerator(BASE).get_schema(routes)

    assert schema == {
        **BASE,
        "paths": {
            "/items": {"get": {"responses": {200: {"description": "The items."}}}},
            "/items/{item_id}": {"get": {"responses": {200: {"description": "One item."}}}},
            "/orders": {"get": {"summary": "orders"}, "query": {"summary": "search orders"}},
            "/v1/items/{item_id}": {"get": {"responses": {200: {"description": "One item."}}}},
            "/ping": {"get": {"responses": {200: {"description": "One item."}}}},
        },
    }


def test_query_operations_need_openapi_3_2():
    schema = SchemaGenerator({"openapi": "3.1.0"}).get_schema(routes)

    assert schema["paths"]["/orders"] == {"get": {"summary": "orders"}}


def test_openapi_response_serves_yaml():
    response = TestClient(Starlette(routes=routes)).get("/schema")

    assert response.headers["content-type"] == "application/vnd.oai.openapi"
    assert yaml.safe_load(response.text)["paths"]["/items"]["get"]["responses"][200] == {
        "description": "The items."
    }


def test_openapi_response_needs_a_dict():
    with pytest.raises(TypeError, match="should be a dictionary, got list"):
        OpenAPIResponse(["not", "a", "schema"])
