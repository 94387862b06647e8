"""FastAPI 0.163's public names, module by module, are importable from trioapi.

The list (tests/fixtures/fastapi_public_names.json) was generated once from
FastAPI 0.163 in a throwaway venv by generate_fastapi_public_names.py;
``fastapi.X`` is ``trioapi.X`` and ``FastAPIX`` is ``TrioAPIX``. What is not
offered is listed below with the reason.
"""

from __future__ import annotations

import importlib
import json
import warnings
from pathlib import Path

import pytest

FIXTURE = Path(__file__).parent / "fixtures" / "fastapi_public_names.json"
MODULES: dict[str, list[str]] = json.loads(FIXTURE.read_text())["modules"]

_INCIDENTAL = (
    "imported by FastAPI's module for its own use, not defined there; trioapi offers it from "
    "the module that defines it (trioapi.responses, trioapi.status, trioapi.types, ...)"
)
_ROUTING_INTERNALS = (
    "FastAPI's request-handling internals; trioapi compiles a route into a plan at "
    "registration (trioapi.dependencies.plan/solver); use APIRoute.add_dependency/rebuild"
)
_MODEL_FIELD = "FastAPI's wrapper around pydantic fields; trioapi validates with TypeAdapters"

# Modules trioapi does not offer, each with its reason.
MODULES_NOT_OFFERED: dict[str, str] = {
    "trioapi.dependencies.utils": "FastAPI's dependency solver; trioapi's is "
    "trioapi.dependencies.analysis, .plan and .solver, built differently (Trio scopes)",
    "trioapi.middleware.asyncexitstack": "no AsyncExitStack on the request path: yield "
    "dependencies live in the request's nurseries (docs/design.md)",
}

# Names trioapi does not offer, by reason. A name that appears later must
# leave this list (the last test says so).
NOT_OFFERED: dict[str, tuple[str, ...]] = {
    _INCIDENTAL: (
        "trioapi.applications.AppType",
        "trioapi.applications.BaseHTTPMiddleware", "trioapi.applications.DefaultPlaceholder",
        "trioapi.applications.ExceptionHandler", "trioapi.applications.ExceptionMiddleware",
        "trioapi.applications.HTMLResponse", "trioapi.applications.IncEx",
        "trioapi.applications.Receive", "trioapi.applications.Request",
        "trioapi.applications.Scope", "trioapi.applications.Send",
        "trioapi.applications.ServerErrorMiddleware", "trioapi.applications.State",
        "trioapi.applications.get_redoc_html",
        "trioapi.applications.get_swagger_ui_html",
        "trioapi.applications.get_swagger_ui_oauth2_redirect_html",
        "trioapi.dependencies.models.DependencyCacheKey",
        "trioapi.dependencies.models.SecurityBase",
        "trioapi.openapi.docs.jsonable_encoder",
        "trioapi.routing.ASGIApp", "trioapi.routing.Default", "trioapi.routing.DefaultPlaceholder",
        "trioapi.routing.EndpointContext", "trioapi.routing.EventSourceResponse",
        "trioapi.routing.TrioAPIError", "trioapi.routing.HTTPException", "trioapi.routing.IncEx",
        "trioapi.routing.JSONResponse", "trioapi.routing.KEEPALIVE_COMMENT",
        "trioapi.routing.Lifespan", "trioapi.routing.PlainTextResponse",
        "trioapi.routing.Receive", "trioapi.routing.RedirectResponse", "trioapi.routing.Request",
        "trioapi.routing.RequestValidationError", "trioapi.routing.Response",
        "trioapi.routing.ResponseValidationError", "trioapi.routing.Scope",
        "trioapi.routing.Send", "trioapi.routing.ServerSentEvent", "trioapi.routing.StaticFiles",
        "trioapi.routing.StreamingResponse", "trioapi.routing.URL", "trioapi.routing.URLPath",
        "trioapi.routing.WebSocket", "trioapi.routing.WebSocketRequestValidationError",
        "trioapi.routing.format_sse_event", "trioapi.routing.generate_unique_id",
        "trioapi.routing.get_route_path", "trioapi.routing.get_value_or_default",
        "trioapi.routing.is_async_callable", "trioapi.routing.is_body_allowed_for_status_code",
        "trioapi.routing.iterate_in_threadpool", "trioapi.routing.jsonable_encoder",
        "trioapi.routing.run_in_threadpool",
        "trioapi.security.api_key.HTTP_401_UNAUTHORIZED",
        "trioapi.security.http.HTTP_401_UNAUTHORIZED",
        "trioapi.security.oauth2.HTTPException", "trioapi.security.oauth2.HTTP_401_UNAUTHORIZED",
        "trioapi.security.oauth2.SecurityBase",
        "trioapi.security.open_id_connect_url.HTTPConnection",
        "trioapi.security.open_id_connect_url.HTTPException",
        "trioapi.security.open_id_connect_url.HTTP_401_UNAUTHORIZED",
        "trioapi.security.open_id_connect_url.SecurityBase",
        "trioapi.responses.TrioAPIDeprecationWarning",
        "trioapi.openapi.utils.BaseRoute", "trioapi.openapi.utils.Body",
        "trioapi.openapi.utils.DefaultPlaceholder", "trioapi.openapi.utils.Dependant",
        "trioapi.openapi.utils.DependencyCacheKey", "trioapi.openapi.utils.TrioAPIDeprecationWarning",
        "trioapi.openapi.utils.JSONResponse", "trioapi.openapi.utils.ModelNameMap",
        "trioapi.openapi.utils.OpenAPI", "trioapi.openapi.utils.ParamTypes",
        "trioapi.openapi.utils.REF_PREFIX", "trioapi.openapi.utils.Response",
        "trioapi.openapi.utils.deep_dict_update", "trioapi.openapi.utils.generate_operation_id_for_path",
        "trioapi.openapi.utils.is_body_allowed_for_status_code",
        "trioapi.openapi.utils.lenient_issubclass",
    ),
    "FastAPI's OpenAPI-generation internals; trioapi builds the document in "
    "trioapi.openapi._operations, _responses and _schemas, with get_openapi as the entry": (
        "trioapi.openapi.utils.generate_operation_id", "trioapi.openapi.utils.generate_operation_summary",
        "trioapi.openapi.utils.get_definitions", "trioapi.openapi.utils.get_fields_from_routes",
        "trioapi.openapi.utils.get_flat_models_from_fields", "trioapi.openapi.utils.get_flat_params",
        "trioapi.openapi.utils.get_model_name_map",
        "trioapi.openapi.utils.get_openapi_operation_metadata",
        "trioapi.openapi.utils.get_openapi_operation_request_body",
        "trioapi.openapi.utils.get_openapi_path", "trioapi.openapi.utils.get_schema_from_model_field",
        "trioapi.openapi.utils.status_code_ranges", "trioapi.openapi.utils.validation_error_definition",
        "trioapi.openapi.utils.validation_error_response_definition",
    ),
    "no AsyncExitStack on the request path: yield dependencies live in the request's "
    "nurseries (docs/design.md)": ("trioapi.applications.AsyncExitStackMiddleware",),
    _ROUTING_INTERNALS: (
        "trioapi.routing.Dependant", "trioapi.routing.RouteContext",
        "trioapi.routing.SolvedDependency", "trioapi.routing.get_dependant",
        "trioapi.routing.get_parameterless_sub_dependant", "trioapi.routing.get_request_handler",
        "trioapi.routing.get_stream_item_type", "trioapi.routing.get_typed_return_annotation",
        "trioapi.routing.get_websocket_app", "trioapi.routing.iter_route_contexts",
        "trioapi.routing.lenient_issubclass", "trioapi.routing.run_endpoint_function",
        "trioapi.routing.serialize_response", "trioapi.routing.solve_dependencies",
        "trioapi.routing.wrap_app_handling_exceptions",
    ),
    _MODEL_FIELD: (
        "trioapi.dependencies.models.ModelField", "trioapi.routing.ModelField",
        "trioapi.routing.create_model_field", "trioapi.utils.ModelField",
        "trioapi.openapi.utils.ModelField",
        "trioapi.utils.create_model_field",
    ),
    "FastAPI's telemetry internals imported into its modules; importing them there would "
    "import OpenTelemetry (the optional telemetry extra) with every app (use trioapi.telemetry)": (
        "trioapi.applications.ExceptionTelemetryMiddleware",
        "trioapi.applications.NativeTelemetry", "trioapi.applications.TelemetryConfig",
        "trioapi.routing.get_telemetry_data",
    ),
    "FastAPI's names for the Starlette classes it subclasses; trioapi has one class each "
    "(UploadFile, BackgroundTasks, HTTPException, WebSocketException)": (
        "trioapi.background.StarletteBackgroundTasks", "trioapi.datastructures.StarletteUploadFile",
        "trioapi.exceptions.StarletteHTTPException",
        "trioapi.exceptions.StarletteWebSocketException",
    ),
    "pydantic models FastAPI builds only to document its error bodies; trioapi documents "
    "them in OpenAPI directly": (
        "trioapi.exceptions.RequestErrorModel", "trioapi.exceptions.WebSocketErrorModel",
    ),
    "FastAPI's encoder-table internals; trioapi.encoders.ENCODERS_BY_TYPE is the table": (
        "trioapi.encoders.PyExtraColor", "trioapi.encoders.encoders_by_class_tuples",
        "trioapi.encoders.generate_encoders_by_class_tuples",
        "trioapi.encoders.is_pydantic_v1_model_instance", "trioapi.encoders.isoformat",
    ),
    "FastAPI's threadpool context manager for yield dependencies; trioapi enters sync "
    "yield dependencies in worker threads itself": ("trioapi.concurrency.contextmanager_in_threadpool",),
}  # fmt: skip
LEFT_OUT = {name: reason for reason, names in NOT_OFFERED.items() for name in names}


def trioapi_names(module: str) -> list[tuple[str, str]]:
    target = module.replace("fastapi", "trioapi", 1)
    return [(target, name.replace("FastAPI", "TrioAPI")) for name in MODULES[module]]


@pytest.mark.parametrize("module", sorted(MODULES))
def test_fastapi_public_names_are_offered(module: str) -> None:
    target = module.replace("fastapi", "trioapi", 1)
    if target in MODULES_NOT_OFFERED:
        with pytest.raises(ModuleNotFoundError):
            importlib.import_module(target)
        return
    imported = importlib.import_module(target)
    missing = []
    for _, name in trioapi_names(module):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # deprecated names warn on access
            if not hasattr(imported, name) and f"{target}.{name}" not in LEFT_OUT:
                missing.append(f"{target}.{name}")
    assert missing == []


def test_the_names_extension_libraries_need_are_there() -> None:
    from trioapi import logger, types, utils

    assert utils.generate_unique_id.__module__ == "trioapi._routing.unique_id"
    assert logger.logger.name == "trioapi"
    assert types.DecoratedCallable.__name__ == "DecoratedCallable"


def test_left_out_names_are_really_missing() -> None:
    offered = []
    for dotted in LEFT_OUT:
        target, _, name = dotted.rpartition(".")
        if hasattr(importlib.import_module(target), name):
            offered.append(dotted)
    assert offered == []
