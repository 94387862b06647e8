"""trioapi.middleware.opentelemetry: Starlette 1.10's OpenTelemetryMiddleware."""

from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from trioapi.applications import Starlette
from trioapi.middleware import Middleware
from trioapi.middleware.opentelemetry import OpenTelemetryMiddleware
from trioapi.requests import Request
from trioapi.responses import PlainTextResponse
from trioapi.routing import Mount, Route, Router
from trioapi.testclient import TestClient


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    yield spans
    provider.shutdown()


def only_span(spans: InMemorySpanExporter) -> ReadableSpan:
    (span,) = spans.get_finished_spans()
    return span


def hello(request: Request) -> PlainTextResponse:
    return PlainTextResponse(
        trace.get_current_span().get_span_context().trace_id.to_bytes(16).hex()
    )


def app_with(spans: InMemorySpanExporter, routes: list, **options: object) -> Starlette:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    middleware = [Middleware(OpenTelemetryMiddleware, tracer_provider=provider, **options)]
    return Starlette(routes=routes, middleware=middleware)


def test_span_names_the_matched_route_through_a_mount(exporter: InMemorySpanExporter) -> None:
    app = app_with(exporter, [Mount("/api", app=Router([Route("/users/{name}", hello)]))])
    trace_id = "0af7651916cd43dd8448eb211c80319c"
    response = TestClient(app).get(
        "/api/users/ada?sig=secret", headers={"traceparent": f"00-{trace_id}-b7ad6b7169203331-01"}
    )
    assert response.text == trace_id  # the span is current in the endpoint
    span = only_span(exporter)
    assert span.kind == SpanKind.SERVER
    assert span.name == "GET /api/users/{name}"
    attributes = span.attributes or {}
    assert attributes["http.route"] == "/api/users/{name}"
    assert attributes["url.query"] == "sig=REDACTED"
    assert attributes["user_agent.original"] == "testclient"


def test_unresolved_mount_and_error_status(exporter: InMemorySpanExporter) -> None:
    def fail(request: Request) -> PlainTextResponse:
        raise RuntimeError("no")

    app = app_with(exporter, [Route("/fail", fail), Mount("/api", app=Router([]))])
    client = TestClient(app, raise_server_exceptions=False)
    assert client.get("/api/missing").status_code == 404
    assert only_span(exporter).name == "GET /api"
    exporter.clear()
    assert client.get("/fail").status_code == 500
    span = only_span(exporter)
    assert (span.attributes or {})["error.type"] == "RuntimeError"
    assert span.status.status_code == StatusCode.ERROR
    assert [event.name for event in span.events] == ["exception"]


def test_excluded_urls_and_nested_middleware_record_nothing(exporter: InMemorySpanExporter) -> None:
    inner = Starlette(
        routes=[Route("/health", hello)], middleware=[Middleware(OpenTelemetryMiddleware)]
    )
    app = app_with(exporter, [Mount("/api", app=inner)], excluded_urls="/api/health$, /metrics$")
    assert TestClient(app).get("/api/health").status_code == 200
    assert exporter.get_finished_spans() == ()
