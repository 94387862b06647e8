"""TrioAPI(telemetry=...): the server span, the operation spans and the HTTP metrics."""

import sys
from collections.abc import Iterator
from typing import Annotated, Any

import httpx
import pytest
import trio
from opentelemetry import baggage, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from tests.serving import run_hypercorn
from trioapi import Depends, HTTPException, TrioAPI
from trioapi.telemetry import TelemetryConfigError
from trioapi.telemetry._attributes import redact_query
from trioapi.testclient import TestClient

TRACE_ID = "0123456789abcdef0123456789abcdef"
PARENT_ID = "0123456789abcdef"


@pytest.fixture
def telemetry() -> Iterator[tuple[dict[str, Any], InMemorySpanExporter, InMemoryMetricReader]]:
    exporter = InMemorySpanExporter()
    tracer = TracerProvider(shutdown_on_exit=False)
    tracer.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    yield {"tracer_provider": tracer, "meter_provider": meter}, exporter, reader
    tracer.shutdown()
    meter.shutdown()


def server_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    (span,) = [s for s in exporter.get_finished_spans() if s.kind == SpanKind.SERVER]
    return span


def by_name(exporter: InMemorySpanExporter) -> dict[str, ReadableSpan]:
    return {s.name: s for s in exporter.get_finished_spans() if s.kind != SpanKind.SERVER}


def durations(reader: InMemoryMetricReader) -> list[Any]:
    data = reader.get_metrics_data()
    assert data is not None
    return [
        point
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == "http.server.request.duration"
        for point in metric.data.data_points
    ]


def test_server_span_continues_the_callers_trace(telemetry: Any) -> None:
    config, exporter, reader = telemetry
    app = TrioAPI(telemetry=config)
    seen = []

    @app.get("/items/{item_id}")
    async def endpoint(item_id: int) -> Any:
        seen.append(trace.get_current_span().get_span_context())
        return {"item": item_id, "baggage": baggage.get_baggage("tenant")}

    response = TestClient(app).get(
        "/items/7?page=2&sig=secret",
        headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01", "baggage": "tenant=acme"},
    )
    assert response.json() == {"item": 7, "baggage": "acme"}
    span = server_span(exporter)
    assert span.name == "GET /items/{item_id}"
    assert span.context.trace_id == int(TRACE_ID, 16)
    assert span.parent is not None and span.parent.span_id == int(PARENT_ID, 16)
    assert span.status.status_code == StatusCode.UNSET
    attributes = dict(span.attributes or {})
    assert attributes["http.route"] == "/items/{item_id}"
    assert attributes["http.response.status_code"] == 200
    assert attributes["url.path"] == "/items/7"
    assert attributes["url.query"] == "page=2&sig=REDACTED"
    assert by_name(exporter)["trioapi.endpoint"].context == seen[0]
    (point,) = durations(reader)
    assert point.count == 1
    assert point.attributes["http.route"] == "/items/{item_id}"
    assert not trace.get_current_span().get_span_context().is_valid


@pytest.mark.parametrize("sync", [False, True])
def test_operation_spans_are_children_of_the_server_span(telemetry: Any, sync: bool) -> None:
    config, exporter, _ = telemetry
    app = TrioAPI(telemetry=config)
    in_dependency = []

    def dependency() -> str:
        in_dependency.append(trace.get_current_span().get_span_context())
        return "value"

    def sync_endpoint(value: Annotated[str, Depends(dependency)]) -> str:
        return value

    async def async_endpoint(value: Annotated[str, Depends(dependency)]) -> str:
        return value

    app.get("/")(sync_endpoint if sync else async_endpoint)
    assert TestClient(app).get("/").json() == "value"
    server = server_span(exporter)
    children = by_name(exporter)
    assert set(children) == {"trioapi.dependencies", "trioapi.endpoint", "trioapi.serialization"}
    for child in children.values():
        assert child.parent is not None and child.parent.span_id == server.context.span_id
        assert (child.attributes or {})["code.function.name"].endswith("_endpoint")
    assert in_dependency == [children["trioapi.dependencies"].context]
    # The dependencies end before the endpoint starts; serialization follows the endpoint.
    assert children["trioapi.dependencies"].end_time <= children["trioapi.endpoint"].start_time
    assert children["trioapi.endpoint"].end_time <= children["trioapi.serialization"].start_time


@pytest.mark.parametrize(
    ("path", "status", "failed"),
    [("/fail", 500, "trioapi.endpoint"), ("/dependency", 500, "trioapi.dependencies")],
)
def test_a_failure_marks_its_span_and_the_server_span(
    telemetry: Any, path: str, status: int, failed: str
) -> None:
    config, exporter, reader = telemetry
    app = TrioAPI(telemetry=config)

    def broken() -> None:
        raise ValueError("dependency failed")

    @app.get("/fail")
    async def fail() -> None:
        raise ValueError("endpoint failed")

    @app.get("/dependency", dependencies=[Depends(broken)])
    async def dependency() -> None:
        return None

    client = TestClient(app, raise_server_exceptions=False)
    assert client.get(path).status_code == status
    span = server_span(exporter)
    assert span.status.status_code == StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == "ValueError"
    assert by_name(exporter)[failed].status.status_code == StatusCode.ERROR
    assert all(not s.events for s in exporter.get_finished_spans())
    assert durations(reader)[0].attributes["error.type"] == "ValueError"


def test_an_http_exception_is_an_answer_not_an_error(telemetry: Any) -> None:
    config, exporter, _ = telemetry
    app = TrioAPI(telemetry=config)

    @app.get("/")
    async def endpoint() -> None:
        raise HTTPException(404, "nope")

    assert TestClient(app).get("/").status_code == 404
    assert all(s.status.status_code == StatusCode.UNSET for s in exporter.get_finished_spans())
    assert (server_span(exporter).attributes or {})["http.response.status_code"] == 404


def test_unmatched_request_has_no_route(telemetry: Any) -> None:
    config, exporter, _ = telemetry
    assert TestClient(TrioAPI(telemetry=config)).get("/missing").status_code == 404
    span = server_span(exporter)
    assert span.name == "GET"
    assert "http.route" not in (span.attributes or {})


def test_excluded_requests_record_nothing(telemetry: Any) -> None:
    config, exporter, reader = telemetry
    app = TrioAPI(telemetry={**config, "exclude": lambda scope: scope["path"] == "/health"})

    @app.get("/health")
    async def health() -> bool:
        return trace.get_current_span().get_span_context().is_valid

    assert TestClient(app).get("/health").json() is False
    assert exporter.get_finished_spans() == ()
    assert reader.get_metrics_data() is None or durations(reader) == []


def test_operation_spans_can_be_turned_off(telemetry: Any) -> None:
    config, exporter, _ = telemetry
    app = TrioAPI(telemetry={**config, "operation_spans": False})
    app.get("/")(lambda: "ok")
    assert TestClient(app).get("/").json() == "ok"
    assert [s.name for s in exporter.get_finished_spans()] == ["GET /"]


def test_unknown_setting_is_refused() -> None:
    with pytest.raises(TelemetryConfigError, match="'tracer'.*tracer_provider"):
        TrioAPI(telemetry={"tracer": None})


def test_without_telemetry_the_scope_carries_nothing() -> None:
    app = TrioAPI()
    seen = []

    @app.get("/")
    async def endpoint(request: Any = None) -> str:
        return "ok"

    @app.middleware("http")
    async def look(request: Any, call_next: Any) -> Any:
        seen.append("trioapi.telemetry" in request.scope)
        return await call_next(request)

    assert TestClient(app).get("/").json() == "ok"
    assert seen == [False]


async def test_concurrent_dependencies_through_hypercorn(telemetry: Any) -> None:
    config, exporter, _ = telemetry
    app = TrioAPI(telemetry=config)
    seen: dict[str, Any] = {}

    async def first() -> str:
        await trio.sleep(0.01)
        seen["first"] = trace.get_current_span().get_span_context()
        return "a"

    async def second() -> str:
        await trio.sleep(0)
        seen["second"] = trace.get_current_span().get_span_context()
        return "b"

    @app.get("/")
    async def endpoint(
        a: Annotated[str, Depends(first)], b: Annotated[str, Depends(second)]
    ) -> str:
        seen["endpoint"] = trace.get_current_span().get_span_context()
        return a + b

    async with run_hypercorn(app) as base, httpx.AsyncClient(base_url=base) as client:
        response = await client.get("/", headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"})
    assert response.json() == "ab"
    server = server_span(exporter)
    assert server.context.trace_id == int(TRACE_ID, 16)
    assert (server.attributes or {})["network.protocol.version"] == "1.1"
    children = by_name(exporter)
    assert seen["first"] == seen["second"] == children["trioapi.dependencies"].context
    assert seen["endpoint"] == children["trioapi.endpoint"].context


def test_without_the_extra_the_error_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(sys.modules):
        if name.startswith(("opentelemetry", "trioapi.telemetry")):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "opentelemetry", None)
    with pytest.raises(ImportError, match=r"pip install 'trioapi\[telemetry\]'"):
        TrioAPI(telemetry={})


def test_a_request_past_its_deadline_records_why_it_stopped(telemetry: Any) -> None:
    config, exporter, _ = telemetry
    app = TrioAPI(telemetry=config, timeout=0.05)

    @app.get("/slow")
    async def slow() -> None:
        await trio.sleep(30)

    assert TestClient(app).get("/slow").status_code == 504
    span = server_span(exporter)
    attributes = span.attributes or {}
    assert attributes["trioapi.request.cancelled"] == "deadline"
    assert "error.type" not in attributes
    assert span.status.status_code == StatusCode.UNSET


async def test_a_client_that_leaves_is_recorded_through_hypercorn(telemetry: Any) -> None:
    config, exporter, _ = telemetry
    app = TrioAPI(telemetry=config)
    started = trio.Event()

    @app.get("/wait")
    async def wait() -> None:
        started.set()
        await trio.sleep(30)

    async with run_hypercorn(app) as base:
        host, port = base.removeprefix("http://").split(":")
        stream = await trio.open_tcp_stream(host, int(port))
        await stream.send_all(b"GET /wait HTTP/1.1\r\nhost: test\r\n\r\n")
        await started.wait()
        await stream.aclose()
        with trio.fail_after(5):
            while not exporter.get_finished_spans():
                await trio.sleep(0.01)
    span = server_span(exporter)
    assert (span.attributes or {})["trioapi.request.cancelled"] == "disconnect"
    assert span.name == "GET /wait"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("%73ig=secret&q=hello%26world", "sig=REDACTED&q=hello%26world"),
        (
            "X-Amz-Signature=s&X-Amz-Credential=c&SIG=keep",
            "X-Amz-Signature=REDACTED&X-Amz-Credential=REDACTED&SIG=keep",
        ),
        ("tag=one&flag&q=a%20b", "tag=one&flag=&q=a+b"),
    ],
)
def test_url_query_is_normalized_and_redacted(query: str, expected: str) -> None:
    assert redact_query(query) == expected


def test_a_frontend_request_is_named_by_its_subtree_and_records_no_operation_spans(
    telemetry, tmp_path
):
    from trioapi import APIRouter
    from trioapi.staticfiles import StaticFiles

    config, exporter, _ = telemetry
    (tmp_path / "index.html").write_text("index")
    (tmp_path / "script.js").write_text("script")
    app = TrioAPI(telemetry=config)
    app.mount("/static", StaticFiles(directory=tmp_path))
    router = APIRouter()
    router.frontend("/ui", directory=tmp_path, fallback="index.html")
    app.include_router(router, prefix="/app")
    client = TestClient(app)
    assert client.get("/static/script.js").text == "script"
    assert client.get("/app/ui/some/page", headers={"accept": "text/html"}).text == "index"
    assert client.get("/app/ui/script.js").text == "script"
    # Serving a file is not an operation: the server spans only, as FastAPI records them.
    assert [
        (span.name, span.attributes["http.route"]) for span in exporter.get_finished_spans()
    ] == [
        ("GET /static/{path}", "/static/{path}"),
        ("GET /app/ui/{path}", "/app/ui/{path}"),
        ("GET /app/ui/{path}", "/app/ui/{path}"),
    ]


def test_opentelemetry_imported_but_not_set_up_skips_the_recording_layer(monkeypatch):
    import opentelemetry._logs._internal as logs_internal
    import opentelemetry.metrics._internal as metrics_internal

    from trioapi.telemetry import _server

    for module, name in (
        (trace, "_TRACER_PROVIDER"),
        (metrics_internal, "_METER_PROVIDER"),
        (logs_internal, "_LOGGER_PROVIDER"),
    ):
        monkeypatch.setattr(module, name, None)  # as in a process that set nothing up
    recorded: list[str] = []
    record = _server.TelemetryMiddleware.__call__

    async def counting(self, scope, receive, send):
        recorded.append(scope["type"])
        await record(self, scope, receive, send)

    monkeypatch.setattr(_server.TelemetryMiddleware, "__call__", counting)
    app = TrioAPI()

    @app.get("/")
    def home():
        return {"ok": True}

    client = TestClient(app)
    assert client.get("/").json() == {"ok": True}
    assert recorded == []  # nothing to record with: the request never entered the layer
    # A provider set up later is followed from the next request on.
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", provider)
    assert client.get("/").json() == {"ok": True}
    assert recorded == ["http"]
    assert [
        span.name for span in exporter.get_finished_spans() if span.kind == SpanKind.SERVER
    ] == ["GET /"]


def test_explicit_settings_see_unset_global_providers_and_follow_one_set_later(monkeypatch):
    import opentelemetry.metrics._internal as metrics_internal

    from trioapi.telemetry import TelemetrySettings

    def recording_provider() -> tuple[TracerProvider, InMemorySpanExporter]:
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        return provider, exporter

    monkeypatch.setattr(trace, "_TRACER_PROVIDER", None)
    monkeypatch.setattr(metrics_internal, "_METER_PROVIDER", None)
    settings = TelemetrySettings({"logs": False})
    # Answered from OpenTelemetry's globals, as get_*_provider() would answer.
    assert (settings.tracer(), settings.meter(), settings.logger()) == (None, None, None)
    provider, exporter = recording_provider()
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", provider)
    tracer = settings.tracer()
    assert tracer is not None
    tracer.start_span("set later").end()
    assert [span.name for span in exporter.get_finished_spans()] == ["set later"]
    # A replaced get_tracer_provider() decides again, as a test's patch expects.
    other, other_exporter = recording_provider()
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", None)
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: other)
    tracer = settings.tracer()
    assert tracer is not None
    tracer.start_span("patched").end()
    assert [span.name for span in other_exporter.get_finished_spans()] == ["patched"]
