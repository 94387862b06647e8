"""The public namespace: FastAPI's names are all there, and every ``__all__`` is true."""

import importlib

import pytest

import trioapi

# What `from fastapi import ...` offers (FastAPI 0.163), with FastAPI -> TrioAPI.
FASTAPI_TOP_LEVEL = {
    "APIRouter", "BackgroundTasks", "Body", "Cookie", "Depends", "File", "Form",
    "HTTPException", "Header", "Path", "Query", "Request", "Response", "Security",
    "TrioAPI", "UploadFile", "WebSocket", "WebSocketDisconnect", "WebSocketException",
    "status",
}  # fmt: skip

PUBLIC_MODULES = [
    "trioapi", "trioapi.asyncio_bridge", "trioapi.background", "trioapi.concurrency",
    "trioapi.convertors", "trioapi.datastructures", "trioapi.encoders", "trioapi.endpoints",
    "trioapi.exception_handlers", "trioapi.exceptions", "trioapi.formparsers",
    "trioapi.middleware", "trioapi.nurseries", "trioapi.param_functions", "trioapi.params",
    "trioapi.requests", "trioapi.responses", "trioapi.routing", "trioapi.security",
    "trioapi.sse", "trioapi.staticfiles", "trioapi.status", "trioapi.templating",
    "trioapi.testclient", "trioapi.testing", "trioapi.websockets",
    "trioapi.metrics", "trioapi.middleware.proxy_headers", "trioapi.cli", "trioapi.server",
]  # fmt: skip


def test_fastapi_top_level_names_are_all_exported():
    assert FASTAPI_TOP_LEVEL <= set(trioapi.__all__)
    for name in FASTAPI_TOP_LEVEL:
        assert getattr(trioapi, name) is not None


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_every_name_in_all_exists(module_name):
    module = importlib.import_module(module_name)
    names = module.__all__
    missing = [name for name in names if not hasattr(module, name)]
    assert missing == []
    assert len(names) == len(set(names))
