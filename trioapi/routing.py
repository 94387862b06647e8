"""Routing: the toolkit's routes and router, and FastAPI's typed ``APIRoute`` / ``APIRouter``.

A façade over ``trioapi._routing``: import from here.
"""

from trioapi._routing.api_route import APIRoute, APIWebSocketRoute
from trioapi._routing.api_router import APIRouter
from trioapi._routing.router import Router
from trioapi._routing.routes import (
    BaseRoute,
    Host,
    Match,
    Mount,
    NoMatchFound,
    Route,
    WebSocketRoute,
    request_response,
    websocket_session,
)
from trioapi.convertors import register_url_convertor

__all__ = [
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
    "register_url_convertor",
    "request_response",
    "websocket_session",
]
