"""Graceful shutdown when the app is served the documented way: hypercorn's command line.

Each case starts a real server process (``python -m hypercorn --worker-class
trio``, with its default spawned worker or ``--workers 0``, or ``python -m
trioapi run``), opens a WebSocket, a streaming response and an SSE stream,
signals the server, and checks that the WebSocket closes with 1001 and both
streams end cleanly, long before hypercorn's ``--graceful-timeout`` (10 s)
would cancel them. Without the server layer's fix ``shutdown-trigger``
(``trioapi.server._shutdown_trigger``) the app never hears of the shutdown:
the bounded waits below fail first.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import trio
from hypercorn.app_wrappers import ASGIWrapper
from trio_websocket import ConnectionClosed, WebSocketConnection

from tests.serving import needs_fix
from tests.ws_client import open_ws
from trioapi import TrioAPI
from trioapi._shutdown import ServerShutdown
from trioapi.server import apply_hypercorn_fixes, find_shutdown_target
from trioapi.server._shutdown_trigger import check_worker_shape, wrap_worker_serve

APP_SOURCE = """
import trio
from trioapi import TrioAPI
from trioapi.responses import StreamingResponse
from trioapi.sse import EventSourceResponse
from trioapi.websockets import WebSocket

app = TrioAPI()


@app.websocket("/ws")
async def ws(websocket: WebSocket):
    await websocket.accept()
    await websocket.send_text("ready")
    while True:
        await websocket.receive_text()


async def first_then_wait():
    yield "first\\n"
    await trio.sleep_forever()


@app.get("/stream")
async def stream():
    return StreamingResponse(first_then_wait())


@app.get("/hang")
async def hang():
    await trio.sleep_forever()


@app.get("/events", response_class=EventSourceResponse)
async def events():
    yield {"greeting": "hello"}
    await trio.sleep_forever()
"""

GRACEFUL_TIMEOUT = "10"
# Bounds, not measurements: far below GRACEFUL_TIMEOUT, far above what a
# shutdown that reaches the app takes (well under a second).
START_BOUND = 20
SHUTDOWN_BOUND = 5


def hypercorn_command(*options: str) -> list[str]:
    return [
        sys.executable, "-m", "hypercorn", "--worker-class", "trio", "--bind", "127.0.0.1:0",
        "--graceful-timeout", GRACEFUL_TIMEOUT, "--log-level", "INFO", *options, "sdapp:app",
    ]  # fmt: skip


def trioapi_run_command(*options: str) -> list[str]:
    return [
        sys.executable, "-m", "trioapi", "run", "sdapp:app", "--host", "127.0.0.1", "--port", "0",
        "--graceful-timeout", GRACEFUL_TIMEOUT, *options,
    ]  # fmt: skip


async def wait_for_base_url(log: Path) -> str:
    """The ``http://host:port`` hypercorn (or ``trioapi run``) logs once it listens (bounded by the caller)."""
    while True:
        if found := re.search(r"(?:Running|Serving \S+) on (http://[\d.:]+)", log.read_text()):
            return found.group(1)
        await trio.sleep(0.02)


async def read_stream(
    client: httpx.AsyncClient, path: str, opened: trio.Event, into: list[bytes]
) -> None:
    """Read ``path`` to its end, appending each chunk; ``opened`` is set after the first one."""
    async with client.stream("GET", path) as response:
        assert response.status_code == 200
        async for chunk in response.aiter_raw():
            into.append(chunk)
            opened.set()


@asynccontextmanager
async def open_server(
    tmp_path: Path,
    command: list[str],
    *,
    env: dict[str, str] | None = None,
    source: str = APP_SOURCE,
) -> AsyncIterator[tuple[trio.Process, str]]:
    """Run ``command`` serving ``sdapp:app`` (``source``) from ``tmp_path``; yields the process and base URL."""
    (tmp_path / "sdapp.py").write_text(source)
    log = tmp_path / "server.log"
    with log.open("w") as log_file:
        process = await trio.lowlevel.open_process(
            command,
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(tmp_path), **(env or {})},
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, killed as one below
        )
    try:
        with trio.fail_after(START_BOUND):
            base = await wait_for_base_url(log)
        yield process, base
    finally:
        if process.returncode is None:
            os.killpg(process.pid, signal.SIGKILL)
            await process.wait()


async def wait_for_close(ws: WebSocketConnection) -> tuple[int, str | None]:
    """The close code and reason the server sends next (bounded)."""
    with trio.fail_after(SHUTDOWN_BOUND):
        with pytest.raises(ConnectionClosed) as closed:
            await ws.get_message()
    return closed.value.reason.code, closed.value.reason.reason


async def serve_and_stop(
    tmp_path: Path, command: list[str], stop: str, **server: object
) -> dict[str, object]:
    """Run ``command``, open connections, send the stop signal; what the clients saw.

    ``server``: ``env`` and ``source`` for :func:`open_server`.
    """
    seen: dict[str, object] = {"stream": [], "events": []}
    async with open_server(tmp_path, command, **server) as (process, base):  # type: ignore[arg-type]
        async with httpx.AsyncClient(base_url=base, timeout=SHUTDOWN_BOUND * 2) as client:
            async with open_ws(base, "/ws") as ws, trio.open_nursery() as nursery:
                assert await ws.get_message() == "ready"
                for path in ("stream", "events"):
                    opened = trio.Event()
                    nursery.start_soon(read_stream, client, "/" + path, opened, seen[path])
                    with trio.fail_after(SHUTDOWN_BOUND):
                        await opened.wait()
                if stop == "group":
                    os.killpg(process.pid, signal.SIGTERM)  # as systemd does
                else:
                    process.send_signal(getattr(signal, stop))
                seen["close"] = await wait_for_close(ws)
        with trio.fail_after(SHUTDOWN_BOUND):
            seen["returncode"] = await process.wait()
    return seen


EXPECTED = {
    "close": (1001, "Server shutting down"),
    "stream": [b"first\n"],
    "events": [b'data: {"greeting": "hello"}\n\n'],  # FastAPI's json.dumps spacing
    "returncode": 0,
}


@needs_fix("shutdown-trigger")
@pytest.mark.parametrize(
    ("command", "stop"),
    [
        pytest.param(hypercorn_command(), "SIGTERM", id="spawned-worker"),
        pytest.param(hypercorn_command("--workers", "0"), "SIGTERM", id="workers-0-sigterm"),
        pytest.param(hypercorn_command("--workers", "0"), "SIGINT", id="workers-0-sigint"),
        pytest.param(hypercorn_command(), "group", id="spawned-worker-group-sigterm"),
        pytest.param(trioapi_run_command(), "SIGTERM", id="trioapi-run"),
    ],
)
async def test_served_app_closes_websockets_and_ends_streams_when_the_server_stops(
    tmp_path: Path, command: list[str], stop: str
) -> None:
    seen = await serve_and_stop(tmp_path, command, stop)
    assert seen == EXPECTED, (tmp_path / "server.log").read_text()


@needs_fix("shutdown-trigger")
async def test_a_second_ctrl_c_stops_at_once_while_requests_are_still_in_flight(
    tmp_path: Path,
) -> None:
    # --workers 0: the first SIGINT begins the graceful shutdown (through the
    # signal receiver that replaces hypercorn's KeyboardInterrupt); the
    # receiver is closed then, so the next one is a KeyboardInterrupt again.
    async with open_server(tmp_path, hypercorn_command("--workers", "0")) as (process, base):
        async with httpx.AsyncClient(base_url=base) as client, trio.open_nursery() as nursery:
            hang_failed: list[str] = []

            async def hang() -> None:
                with pytest.raises(httpx.RemoteProtocolError) as error:
                    await client.get("/hang", timeout=SHUTDOWN_BOUND * 2)
                hang_failed.append(str(error.value))

            async with open_ws(base, "/ws") as ws:
                assert await ws.get_message() == "ready"
                nursery.start_soon(hang)
                await trio.sleep(0.2)  # lets the request reach the server; not for correctness
                process.send_signal(signal.SIGINT)
                assert await wait_for_close(ws) == (1001, "Server shutting down")
            # /hang never ends: hypercorn would wait for it up to --graceful-timeout.
            assert process.returncode is None
            process.send_signal(signal.SIGINT)
            with trio.fail_after(SHUTDOWN_BOUND):
                returncode = await process.wait()
    assert returncode != 0
    assert hang_failed == ["Server disconnected without sending a response."]
    assert "KeyboardInterrupt" in (tmp_path / "server.log").read_text()


# -- the wrapper in this process: which apps it touches, and its guards -------


class Recorder:
    """Stands for hypercorn's ``worker_serve``: records the trigger it is given, and runs it."""

    def __init__(self) -> None:
        self.triggers: list[object] = []

    async def __call__(self, app: object, config: object, **kwargs: object) -> None:
        trigger = kwargs["shutdown_trigger"]
        self.triggers.append(trigger)
        if trigger is not None:
            await trigger()  # type: ignore[operator]


class Wrapping:
    """An ASGI middleware that keeps the app it wraps in ``.app``, as most do."""

    def __init__(self, app: object) -> None:
        self.app = app


async def test_a_served_trioapi_begins_its_shutdown_when_hypercorns_trigger_fires() -> None:
    app = TrioAPI()
    recorder = Recorder()
    stop = trio.Event()
    stop.set()
    await wrap_worker_serve(recorder)(
        ASGIWrapper(Wrapping(app)), object(), shutdown_trigger=stop.wait
    )
    assert recorder.triggers != [stop.wait]
    assert app._shutdown.started


async def test_other_apps_get_hypercorns_trigger_unchanged() -> None:
    recorder = Recorder()
    stop = trio.Event()
    stop.set()

    async def plain_app(scope: object, receive: object, send: object) -> None:
        raise AssertionError("not called")

    await wrap_worker_serve(recorder)(ASGIWrapper(plain_app), object(), shutdown_trigger=stop.wait)
    await wrap_worker_serve(recorder)(ASGIWrapper(plain_app), object(), shutdown_trigger=None)
    assert recorder.triggers == [stop.wait, None]


def test_the_shutdown_target_is_found_through_wrappers_and_cycles_end_the_search() -> None:
    app = TrioAPI()
    assert find_shutdown_target(ASGIWrapper(Wrapping(Wrapping(app)))) is app
    assert find_shutdown_target(TrioAPI) is None  # the class, not a served app
    loop = Wrapping(None)
    loop.app = loop
    assert find_shutdown_target(loop) is None


async def test_outside_the_main_thread_hypercorns_trigger_is_wrapped_without_signals() -> None:
    app = TrioAPI()
    recorder = Recorder()

    async def trigger() -> None:
        assert threading.current_thread() is not threading.main_thread()

    def serve_in_a_thread() -> None:
        trio.run(
            lambda: wrap_worker_serve(recorder)(
                ASGIWrapper(app), object(), shutdown_trigger=trigger
            )
        )

    await trio.to_thread.run_sync(serve_in_a_thread)
    assert app._shutdown.started
    assert len(recorder.triggers) == 1 and recorder.triggers[0] is not trigger


@needs_fix("shutdown-trigger")
def test_the_wrapper_is_installed_once() -> None:
    from hypercorn.trio import run as worker_run

    apply_hypercorn_fixes()
    wrapped = worker_run.worker_serve
    assert wrapped.__module__ == "trioapi.server._shutdown_trigger"
    apply_hypercorn_fixes()
    assert worker_run.worker_serve is wrapped


def test_a_worker_serve_of_another_shape_is_not_wrapped() -> None:
    async def positional_trigger(
        app: object, config: object, shutdown_trigger: object = None
    ) -> None:
        pass

    class Module:
        trio_worker = staticmethod(lambda: None)
        worker_serve = staticmethod(positional_trigger)

    assert check_worker_shape(Module) == (
        "hypercorn.trio.run.worker_serve takes no keyword-only shutdown_trigger"
    )
    assert check_worker_shape(object()) == "hypercorn.trio.run has no worker_serve and trio_worker"


async def test_a_second_begin_does_nothing_more() -> None:
    shutdown = ServerShutdown()
    await shutdown.begin()
    with shutdown.open_stream_stopper() as stopper:
        await shutdown.begin()
        assert stopper.stopped  # stopped when opened, since shutdown had begun
