"""Routing: the toolkit's routes and router, and FastAPI's typed ``APIRoute`` / ``APIRouter``.

A façade over ``trioapi._routing``: import from here.
"""

from trioapi._routing.api_route import APIRoute, APIWebSocketRoute
from trioapi._routing.api_router import APIRouter
from trioapi._routing.paths import compile_path, get_name, replace_params
from trioapi._routing.router import Mount, Router
from trioapi._routing.routes import (
    BaseRoute,
    Host,
    Match,
    NoMatchFound,
    Route,
    WebSocketRoute,
    request_response,
    websocket_session,
)
from trioapi.convertors import CONVERTOR_TYPES, register_url_convertor

__all__ = [
    "CONVERTOR_TYPES",
    "APIRoute",
    "APIRouter",
    "APIWebSocketRoute",
    "BaseRoute",
    "Host",
    "Match",
    "Mount",
    "NoMatchFound",
    "Route",
    "Router",
    "WebSocketRoute",
    "compile_path",
    "get_name",
    "register_url_convertor",
    "replace_params",
    "request_response",
    "websocket_session",
]
