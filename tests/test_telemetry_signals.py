"""trioapi.telemetry: request data, background task and WebSocket spans, logs, http.route."""

from collections.abc import Iterator
from typing import Annotated, Any

import httpx
import pytest
import trio
from opentelemetry import context, trace
from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from tests.serving import run_hypercorn
from tests.ws_client import open_ws
from trioapi import APIRouter, BackgroundTasks, Depends, Request, TrioAPI, WebSocket
from trioapi.nurseries import AppNursery, RequestNursery
from trioapi.responses import StreamingResponse
from trioapi.telemetry import get_telemetry_data
from trioapi.testclient import TestClient
from trioapi.websockets import WebSocketDisconnect


@pytest.fixture
def recorded() -> Iterator[tuple[dict[str, Any], InMemorySpanExporter, InMemoryLogRecordExporter]]:
    spans = InMemorySpanExporter()
    tracer = TracerProvider(shutdown_on_exit=False)
    tracer.add_span_processor(SimpleSpanProcessor(spans))
    logs = InMemoryLogRecordExporter()
    logger = LoggerProvider(shutdown_on_exit=False)
    logger.add_log_record_processor(SimpleLogRecordProcessor(logs))
    meter = MeterProvider(metric_readers=[InMemoryMetricReader()], shutdown_on_exit=False)
    config = {"tracer_provider": tracer, "meter_provider": meter, "logger_provider": logger}
    yield config, spans, logs
    tracer.shutdown()
    logger.shutdown()
    meter.shutdown()


def server(spans: InMemorySpanExporter) -> ReadableSpan:
    (span,) = [s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER]
    return span


def named(spans: InMemorySpanExporter, name: str) -> list[ReadableSpan]:
    return [s for s in spans.get_finished_spans() if s.name == name]


def test_request_data_is_there_while_the_request_runs_and_gone_after(recorded: Any) -> None:
    config, _, _ = recorded
    app = TrioAPI(telemetry=config)
    kept: list[Any] = []

    @app.post("/items/{item_id}")
    async def endpoint(item_id: int, item: dict[str, int], request: Request) -> int:
        data = get_telemetry_data()
        assert data is not None
        kept.append(context.get_current())
        assert data.request is request
        assert data.body == {"a": 1}
        assert data.values == {"item_id": item_id, "item": item, "request": request}
        assert data.errors == []
        return item_id

    assert TestClient(app).post("/items/3", json={"a": 1}).json() == 3
    assert get_telemetry_data(kept[0]) is None
    assert get_telemetry_data() is None


def test_background_tasks_get_their_own_span_after_the_server_span(recorded: Any) -> None:
    config, spans, _ = recorded
    app = TrioAPI(telemetry=config)
    seen: list[Any] = []

    def sync_task(value: str) -> None:
        data = get_telemetry_data()
        assert data is not None and data.request is not None
        seen.append((value, trace.get_current_span().get_span_context()))

    async def async_task(value: str) -> None:
        seen.append((value, trace.get_current_span().get_span_context()))

    @app.get("/")
    async def endpoint(tasks: BackgroundTasks) -> str:
        tasks.add_task(sync_task, "sync")
        tasks.add_task(async_task, "async")
        return "ok"

    assert TestClient(app).get("/").json() == "ok"
    request = server(spans)
    tasks = named(spans, "trioapi.background_task")
    assert [value for value, _ in seen] == ["sync", "async"]
    assert [span.context for span in tasks] == [ctx for _, ctx in seen]
    for span in tasks:
        assert span.parent is not None and span.parent.span_id == request.context.span_id
        assert span.start_time is not None and request.end_time is not None
        assert span.start_time >= request.end_time
    assert tasks[0].attributes == {"code.function.name": f"{__name__}.{sync_task.__qualname__}"}


def test_request_nursery_children_carry_the_trace(recorded: Any) -> None:
    config, spans, _ = recorded
    app = TrioAPI(telemetry=config)
    seen: list[Any] = []

    async def child() -> None:
        await trio.sleep(0)
        seen.append(trace.get_current_span().get_span_context())
        seen.append(get_telemetry_data() is not None)

    @app.get("/")
    async def endpoint(nursery: RequestNursery) -> str:
        nursery.start_soon(child)
        return "ok"

    assert TestClient(app).get("/").json() == "ok"
    (endpoint_span,) = named(spans, "trioapi.endpoint")
    assert seen == [endpoint_span.context, True]
    assert endpoint_span.context.trace_id == server(spans).context.trace_id


def test_an_unhandled_error_is_logged_once_with_the_trace(recorded: Any) -> None:
    config, spans, logs = recorded
    app = TrioAPI(telemetry=config)

    @app.get("/items/{item_id}")
    async def endpoint(item_id: int) -> None:
        raise LookupError("gone")

    client = TestClient(app, raise_server_exceptions=False)
    assert client.get("/items/1").status_code == 500
    assert client.get("/items/x").status_code == 422
    failure, refused = (data.log_record for data in logs.get_finished_logs())
    first = [s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER][0]
    assert failure.event_name == "http.server.request.exception"
    assert failure.severity_number == SeverityNumber.ERROR
    assert failure.span_id == first.context.span_id
    assert (failure.attributes or {})["exception.type"] == "LookupError"
    assert (failure.attributes or {})["http.route"] == "/items/{item_id}"
    assert (first.attributes or {})["error.type"] == "LookupError"
    assert refused.event_name == "trioapi.validation.failed"
    assert refused.severity_number == SeverityNumber.WARN
    assert refused.attributes == {
        "http.route": "/items/{item_id}",
        "trioapi.validation.error_count": 1,
    }


def test_websocket_connection_span(recorded: Any) -> None:
    config, spans, logs = recorded
    app = TrioAPI(telemetry=config)

    @app.websocket("/rooms/{room}")
    async def room(websocket: WebSocket, room: int) -> None:
        data = get_telemetry_data()
        assert data is not None and data.websocket is websocket
        await websocket.accept()
        await websocket.receive_text()

    with (
        pytest.raises(WebSocketDisconnect),
        TestClient(app).websocket_connect("/rooms/4?token=t") as ws,
    ):
        ws.close(code=1006)
    span = server(spans)
    assert span.name == "WS /rooms/{room}"
    assert (span.attributes or {})["network.protocol.name"] == "websocket"
    assert "url.query" not in (span.attributes or {})  # it may carry what messages would
    assert span.status.status_code == StatusCode.ERROR  # 1006: the connection was lost
    assert len(logs.get_finished_logs()) == 1


@pytest.mark.parametrize(
    ("method", "path", "status", "name"),
    [
        ("GET", "/api/tenants/acme/items/1", 200, "GET /api/tenants/{tenant}/items/{value}"),
        ("GET", "/api/tenants/acme/items/1/", 307, "GET /api/tenants/{tenant}/items/{value}"),
        ("POST", "/api/tenants/acme/items/1", 405, "POST /api/tenants/{tenant}/items/{value}"),
        ("BREW", "/api/tenants/acme/items/1", 405, "HTTP /api/tenants/{tenant}/items/{value}"),
        ("GET", "/nowhere", 404, "GET"),
    ],
)
def test_http_route_is_the_template_through_mounts(
    recorded: Any, method: str, path: str, status: int, name: str
) -> None:
    config, spans, _ = recorded
    app = TrioAPI(telemetry=config)
    child = TrioAPI()

    @child.get("/items/{value}")
    def endpoint(value: str) -> str:
        return value

    router = APIRouter()
    router.mount("/tenants/{tenant}", child)
    app.include_router(router, prefix="/api")
    client = TestClient(app)
    assert client.request(method, path, follow_redirects=False).status_code == status
    span = server(spans)
    assert span.name == name
    assert (span.attributes or {})["http.request.method"] == (
        "_OTHER" if method == "BREW" else method
    )


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("public.example:8443", {"server.address": "public.example", "server.port": 8443}),
        ("[2001:db8::1]", {"server.address": "2001:db8::1", "server.port": 80}),
        ("user@public.example", {}),
    ],
)
def test_server_address_comes_from_the_host_header(recorded: Any, host: str, expected: Any) -> None:
    config, spans, _ = recorded
    app = TrioAPI(telemetry=config)
    TestClient(app).get("/", headers={"host": host})
    attributes = server(spans).attributes or {}
    assert {k: v for k, v in attributes.items() if k.startswith("server.")} == expected


def test_global_providers_set_after_the_app_is_built_are_used(
    monkeypatch: pytest.MonkeyPatch, recorded: Any
) -> None:
    config, spans, _ = recorded
    client = TestClient(TrioAPI())
    assert client.get("/").status_code == 404
    assert not spans.get_finished_spans()  # the API's stand-in provider: nothing recorded
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: config["tracer_provider"])
    assert client.get("/").status_code == 404
    assert server(spans).name == "GET"


async def test_teardown_and_app_nursery_work_through_hypercorn(recorded: Any) -> None:
    config, spans, _ = recorded
    app = TrioAPI(telemetry=config)
    in_app_task: list[Any] = []
    done = trio.Event()

    async def session() -> Any:
        yield "session"
        await trio.sleep(0.01)  # teardown after the response

    async def later() -> None:
        in_app_task.append(trace.get_current_span().get_span_context())
        done.set()

    @app.get("/")
    async def endpoint(
        value: Annotated[str, Depends(session, scope="request")],
        tasks: BackgroundTasks,
        app_nursery: AppNursery,
    ) -> str:
        app_nursery.start_soon(later)
        tasks.add_task(trio.sleep, 0)
        return value

    async with run_hypercorn(app) as base, httpx.AsyncClient(base_url=base) as client:
        assert (await client.get("/")).json() == "session"
        with trio.fail_after(5):
            await done.wait()
            while not named(spans, "trioapi.request.teardown"):
                await trio.sleep(0.01)
    request = server(spans)
    (teardown,) = named(spans, "trioapi.request.teardown")
    (task,) = named(spans, "trioapi.background_task")
    (endpoint_span,) = named(spans, "trioapi.endpoint")
    assert teardown.parent is not None and teardown.parent.span_id == request.context.span_id
    assert request.end_time is not None and teardown.start_time is not None
    assert teardown.start_time >= request.end_time
    assert task.end_time is not None and teardown.end_time is not None
    assert task.end_time <= teardown.end_time
    assert in_app_task == [endpoint_span.context]  # an app-nursery task keeps the trace


def test_no_teardown_span_without_work_after_the_response(recorded: Any) -> None:
    config, spans, _ = recorded
    app = TrioAPI(telemetry=config)

    @app.get("/")
    async def endpoint() -> str:
        return "ok"

    assert TestClient(app).get("/").json() == "ok"
    assert not named(spans, "trioapi.request.teardown")


def test_a_streamed_response_ends_its_span_before_the_background_tasks(recorded: Any) -> None:
    config, spans, _ = recorded
    app = TrioAPI(telemetry=config)
    seen: list[int] = []

    async def background() -> None:
        seen.append(len([s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER]))

    @app.get("/")
    async def endpoint(tasks: BackgroundTasks) -> StreamingResponse:
        tasks.add_task(background)

        async def stream() -> Any:
            yield "one"
            await trio.sleep(0)
            yield "two"

        return StreamingResponse(stream())

    assert TestClient(app).get("/").text == "onetwo"
    assert seen == [1]


async def test_websocket_span_through_hypercorn(recorded: Any) -> None:
    config, spans, _ = recorded
    app = TrioAPI(telemetry=config)
    in_child: list[Any] = []

    async def child() -> None:
        in_child.append(trace.get_current_span().get_span_context().trace_id)

    @app.websocket("/echo/{room}")
    async def echo(websocket: WebSocket, room: str, nursery: RequestNursery) -> None:
        await websocket.accept()
        nursery.start_soon(child)
        await websocket.send_text(await websocket.receive_text() + room)
        await websocket.close()

    async with run_hypercorn(app) as base:
        async with open_ws(base, "/echo/a") as ws:
            await ws.send_message("hi ")
            assert await ws.get_message() == "hi a"
        with trio.fail_after(5):
            while not [s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER]:
                await trio.sleep(0.01)
    span = server(spans)
    assert span.name == "WS /echo/{room}"
    assert span.status.status_code == StatusCode.UNSET
    attributes = span.attributes or {}
    assert (attributes["url.scheme"], attributes["http.route"]) == ("ws", "/echo/{room}")
    assert in_child == [span.context.trace_id]


async def test_shutdown_during_teardown_is_recorded_through_hypercorn(recorded: Any) -> None:
    config, spans, _ = recorded
    app = TrioAPI(telemetry=config)
    running = trio.Event()

    async def forever() -> None:
        running.set()
        await trio.sleep_forever()

    @app.get("/")
    async def endpoint(tasks: BackgroundTasks) -> str:
        tasks.add_task(forever)
        return "ok"

    stop = trio.Event()
    async with run_hypercorn(app, stop=stop, graceful_timeout=0.2) as base:
        async with httpx.AsyncClient(base_url=base) as client:
            assert (await client.get("/")).json() == "ok"
        with trio.fail_after(5):
            await running.wait()
        stop.set()
    (teardown,) = named(spans, "trioapi.request.teardown")
    assert (teardown.attributes or {})["trioapi.request.cancelled"] == "shutdown"
    assert server(spans).status.status_code == StatusCode.UNSET
    (task,) = named(spans, "trioapi.background_task")
    assert task.status.status_code == StatusCode.UNSET  # cancelled, not failed
