"""opentelemetry-instrumentation-asgi's middleware around a trioapi app, beside its own telemetry."""

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from tests.serving import run_hypercorn
from trioapi import TrioAPI
from trioapi.testclient import TestClient


@pytest.fixture
def provider() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    tracer = TracerProvider(shutdown_on_exit=False)
    tracer.add_span_processor(SimpleSpanProcessor(exporter))
    yield tracer, exporter
    tracer.shutdown()


def make_app(native: TracerProvider | None, seen: list[int]) -> TrioAPI:
    app = TrioAPI() if native is None else TrioAPI(telemetry={"tracer_provider": native})

    @app.get("/items/{item_id}")
    async def item(item_id: int) -> int:
        seen.append(trace.get_current_span().get_span_context().span_id)
        return item_id

    return app


def test_the_contrib_middleware_records_a_trioapi_app(provider: Any) -> None:
    tracer, exporter = provider
    seen: list[int] = []
    wrapped = OpenTelemetryMiddleware(make_app(None, seen), tracer_provider=tracer)
    assert TestClient(wrapped).get("/items/3").json() == 3
    (span,) = [s for s in exporter.get_finished_spans() if s.kind == SpanKind.SERVER]
    assert (span.attributes or {})["http.status_code"] == 200
    assert seen == [span.context.span_id]  # current in the endpoint


async def test_native_spans_nest_under_the_contrib_span_through_hypercorn(provider: Any) -> None:
    tracer, exporter = provider
    seen: list[int] = []
    app = make_app(tracer, seen)
    wrapped = OpenTelemetryMiddleware(
        app, tracer_provider=tracer, exclude_spans=["receive", "send"]
    )
    async with run_hypercorn(wrapped) as base, httpx.AsyncClient(base_url=base) as client:
        assert (await client.get("/items/5")).json() == 5
    servers = [s for s in exporter.get_finished_spans() if s.kind == SpanKind.SERVER]
    native = next(s for s in servers if s.name == "GET /items/{item_id}")
    contrib = next(s for s in servers if s is not native)
    assert native.parent is not None and native.parent.span_id == contrib.context.span_id
    assert native.context.trace_id == contrib.context.trace_id
    (endpoint,) = [s for s in exporter.get_finished_spans() if s.name == "trioapi.endpoint"]
    assert seen == [endpoint.context.span_id]
