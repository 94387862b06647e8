"""The app under the cancellation chaos test: every checkpoint of a request is a named hook.

A run (:class:`ChaosRun`) names one checkpoint (its *target*) and one kind of
cancellation. Every hook the request passes opens that checkpoint's
:class:`Gate`, so a client can wait for the request to get somewhere (the
HTTP body is sent in step with the reads). At the target the hook injects a
deadline itself (``set_timeout(0)``, a deadline already passed) or waits
for the test to disconnect or shut the server down, then *holds* until the
cancellation arrives or the run's releaser lets it go. Nothing waits on a
wall-clock guess: the releaser lets a hold go only once the server has acted
on the injection (every task blocked, ``trio.testing.wait_all_tasks_blocked``).

What the request did goes into an event log; :func:`check_log` holds the
rules (each yield dependency set up is torn down exactly once, each task
started has ended, the stream generator is closed once).
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing, asynccontextmanager
from typing import Annotated, Any

import trio
import trio.testing

from trioapi import BackgroundTasks, Depends, Request, TrioAPI, WebSocket, WebSocketDisconnect
from trioapi._request_state import ResponsePhase
from trioapi._scopes import RequestContext, get_request_context
from trioapi._shutdown import ServerShutdown
from trioapi.nurseries import RequestNursery
from trioapi.responses import PlainTextResponse, StreamingResponse

# Checkpoints of an HTTP request, in the order a request passes them.
HTTP_CHECKPOINTS = (
    "middleware.before",
    "dep.request.setup",
    "dep.function.setup",
    "dep.sync.setup",
    "body.read.0",
    "body.read.1",
    "body.read.2",
    "endpoint.async",
    "endpoint.thread",
    "endpoint.sync",
    "endpoint.nursery",
    "dep.function.teardown",
    "middleware.after",
    "response.start",
    "stream.chunk.0",
    "stream.chunk.1",
    "stream.chunk.2",
    "send.body.1",
    "background",
    "dep.sync.teardown",
    "dep.request.teardown",
)
WEBSOCKET_CHECKPOINTS = (
    "ws.dep.setup",
    "ws.accept",
    "ws.receive",
    "ws.thread",
    "ws.send",
    "ws.dep.teardown",
)
# Where a checkpoint lies relative to the response, which decides what the
# client must see: 504 before the start, a cut stream once it started, the
# whole response (and no cancellation) after the last body byte.
AFTER_RESPONSE = frozenset(
    {"background", "dep.sync.teardown", "dep.request.teardown", "ws.dep.teardown"}
)
# The first chunk is not among them: the middleware sends the response start
# with the first body message, so a deadline there still answers 504.
AFTER_START = frozenset({"stream.chunk.1", "stream.chunk.2", "send.body.1"})
# Hooks that run in a worker thread.
IN_THREAD = frozenset(
    {"endpoint.thread", "endpoint.sync", "dep.sync.setup", "dep.sync.teardown", "ws.thread"}
)
# Hooks that do not hold: the request then waits on the client for real.
NO_HOLD = frozenset({"body.read.0", "body.read.1", "body.read.2", "ws.receive"})

BODY_CHUNKS = (b"aaaa", b"bbbb", b"cccc")
STREAM_BODY = b"chunk0;chunk1;chunk2;"
THREAD_HOLD_BOUND = 5.0  # no hold waits longer than this for its release


def route_for(target: str) -> str:
    """The path whose request passes ``target``."""
    if target.startswith("ws."):
        return "/ws"
    if target in ("endpoint.thread", "endpoint.sync", "endpoint.nursery"):
        return "/chaos/" + target.removeprefix("endpoint.")
    return "/chaos/async"


def expected_body(target: str) -> bytes:
    """The body of the whole response the route for ``target`` sends."""
    return b"sync:aaaabbbbcccc" if target == "endpoint.sync" else STREAM_BODY


class Gate:
    """A one-shot event that any Trio run or thread may open or wait on."""

    def __init__(self) -> None:
        self._flag = threading.Event()
        self._lock = threading.Lock()
        self._waiters: list[tuple[trio.lowlevel.TrioToken, trio.Event]] = []

    def set(self) -> None:
        with self._lock:
            self._flag.set()
            waiters, self._waiters = self._waiters, []
        for token, event in waiters:
            try:
                token.run_sync_soon(event.set)
            except trio.RunFinishedError:
                pass

    def is_set(self) -> bool:
        return self._flag.is_set()

    async def wait(self) -> None:
        event = trio.Event()
        with self._lock:
            if self._flag.is_set():
                event.set()
            else:
                self._waiters.append((trio.lowlevel.current_trio_token(), event))
        await event.wait()

    def wait_blocking(self, timeout: float) -> bool:
        return self._flag.wait(timeout)


class ChaosRun:
    """One run: where to cancel, how, and what the request did."""

    def __init__(self, target: str, kind: str, delay: float | None = None) -> None:
        self.target = target
        self.kind = kind
        # None: hold at the target until cancelled. A number: pass the target
        # without holding and cancel that many seconds later, wherever the
        # request then is (the bench's timing runs).
        self.delay = delay
        self.log: list[str] = []
        self.injected = Gate()  # the test has disconnected or started the shutdown
        self.release = Gate()  # holds may go on
        self.client_done = Gate()  # the client has seen all it will see
        self.hold_over = Gate()  # the hold at the target was cancelled or released
        self.context: RequestContext | None = None
        self.shutdown: ServerShutdown | None = None
        self._gates: dict[str, Gate] = {}
        self._lock = threading.Lock()

    def gate(self, name: str) -> Gate:
        with self._lock:
            gate = self._gates.get(name)
            if gate is None:
                gate = self._gates[name] = Gate()
            return gate

    def event(self, text: str) -> None:
        self.log.append(text)  # list.append is atomic: threads may log too


class ChaosState:
    """What the app reads per request: the current run, and the app nursery for releasers."""

    def __init__(self) -> None:
        self.run: ChaosRun | None = None
        self.app_nursery: trio.Nursery | None = None


async def checkpoint(state: ChaosState, name: str) -> None:
    """Pass checkpoint ``name``; at the run's target, inject and hold. A checkpoint."""
    run = state.run
    if run is None:
        await trio.lowlevel.checkpoint()
        return
    if name != run.target:
        run.gate(name).set()
        await trio.lowlevel.checkpoint()
        return
    run.event(f"reached {name}")
    _inject_deadline(run)
    run.gate(name).set()
    if name in NO_HOLD or run.delay is not None:
        await trio.lowlevel.checkpoint()
        return
    if run.kind == "deadline" and trio.current_effective_deadline() != -math.inf:
        # Here the deadline cannot reach (a shielded teardown, or after the
        # last body byte); holding would only wait for the releaser.
        run.event(f"not cancellable at {name}")
        await trio.lowlevel.checkpoint()
        return
    assert state.app_nursery is not None
    run.shutdown = None if run.context is None else run.context.shutdown
    state.app_nursery.start_soon(_release_when_settled, run, False)
    try:
        await run.release.wait()
    except trio.Cancelled:
        run.event(f"cancelled at {name}")
        raise
    finally:
        run.hold_over.set()
    run.event(f"released at {name}")


def _inject_deadline(run: ChaosRun) -> None:
    """For a deadline run: the deadline passes now (or ``delay`` seconds from now)."""
    context = run.context
    if run.kind == "deadline" and context is not None:
        # set_timeout counts from the request's start: 0 is a deadline already passed.
        after = 0.0 if run.delay is None else trio.current_time() - context.started_at + run.delay
        context.set_timeout(after)
        run.injected.set()


async def _release_when_settled(run: ChaosRun, in_thread: bool) -> None:
    """Let holds go once the injection has had every chance to cancel them.

    A thread cannot be cancelled: it goes on only once the client has seen
    its answer, so an answer that waited for the thread shows as a hang.
    """
    try:
        with trio.move_on_after(THREAD_HOLD_BOUND):
            await run.injected.wait()
            if in_thread and not (run.context and run.context.phase >= ResponsePhase.ENDING):
                await run.client_done.wait()
            if run.kind == "cancel":
                # Hypercorn cancels what is left once its graceful_timeout
                # (0.05 s) has passed; only a shielded teardown is still here
                # five times that long after, and a real teardown would end.
                await trio.sleep(0.25)
            if run.kind == "shutdown":
                # Released once the app has closed its sockets and stopped its
                # streams, well within hypercorn's grace: a graceful shutdown.
                while run.shutdown is not None and not run.shutdown.started:
                    await trio.sleep(0.005)
            if run.kind == "disconnect":
                await _wait_noticed(run)
            await trio.testing.wait_all_tasks_blocked()
    finally:
        run.release.set()


async def _wait_noticed(run: ChaosRun) -> None:
    # The watchdog notices a client that left within a tick or two (25 ms);
    # after the last body byte nothing is cancelled, so nothing to wait for.
    context = run.context
    if context is None or context.scope.get("type") == "websocket":
        return  # a socket learns of the client leaving from its own receive or send
    while not (
        context.client_disconnected
        or context.phase >= ResponsePhase.ENDING
        or run.hold_over.is_set()
    ):
        await trio.sleep(0.005)


def checkpoint_in_thread(state: ChaosState, name: str) -> None:
    """:func:`checkpoint` for code in a worker thread: injects, then blocks until released."""
    run = state.run
    if run is None:
        return
    if name != run.target:
        run.gate(name).set()
        return
    run.event(f"reached {name}")
    trio.from_thread.run_sync(_inject_deadline, run)
    run.gate(name).set()
    if run.delay is not None:
        return
    assert state.app_nursery is not None
    run.shutdown = None if run.context is None else run.context.shutdown
    trio.from_thread.run_sync(state.app_nursery.start_soon, _release_when_settled, run, True)
    run.event(f"thread holds at {name}")
    run.release.wait_blocking(THREAD_HOLD_BOUND)
    run.event(f"thread done at {name}")


def check_log(log: list[str]) -> None:
    """Every set-up was torn down exactly once; every task and stream that started has ended."""
    counts = Counter(log)
    for what in ("dep.request", "dep.function", "dep.sync", "ws.dep"):
        setups, teardowns = counts[f"{what} set up"], counts[f"{what} torn down"]
        assert setups <= 1, (what, log)
        assert teardowns == setups, (what, log)
    for start, end in (
        ("child started", "child ended"),
        ("stream started", "stream closed"),
        ("background started", "background ended"),
    ):
        assert counts[end] == counts[start] <= 1, (start, log)
    for event in log:
        if event.startswith("thread holds at "):
            assert counts[event.replace("holds", "done")] == 1, log


def build_app(state: ChaosState) -> TrioAPI:
    """The app: a middleware, three yield dependencies, four endpoints, a stream, a socket."""

    async def lifespan(app: TrioAPI) -> AsyncIterator[None]:
        async with trio.open_nursery() as nursery:
            state.app_nursery = nursery
            yield
            nursery.cancel_scope.cancel()

    app = TrioAPI(lifespan=asynccontextmanager(lifespan))

    @app.middleware("http")
    async def around(request: Request, call_next: Any) -> Any:
        await checkpoint(state, "middleware.before")
        response = await call_next(request)
        await checkpoint(state, "middleware.after")
        return response

    app.add_middleware(SendHooks, state=state)

    async def request_dep() -> AsyncIterator[str]:
        await checkpoint(state, "dep.request.setup")
        _log(state, "dep.request set up")
        try:
            yield "request"
        finally:
            _log(state, "dep.request torn down")
            await checkpoint(state, "dep.request.teardown")

    async def function_dep() -> AsyncIterator[str]:
        await checkpoint(state, "dep.function.setup")
        _log(state, "dep.function set up")
        try:
            yield "function"
        finally:
            _log(state, "dep.function torn down")
            await checkpoint(state, "dep.function.teardown")

    def sync_dep() -> Iterator[str]:
        checkpoint_in_thread(state, "dep.sync.setup")
        _log(state, "dep.sync set up")
        try:
            yield "sync"
        finally:
            _log(state, "dep.sync torn down")
            checkpoint_in_thread(state, "dep.sync.teardown")

    deps = [
        Depends(request_dep, scope="request"),
        Depends(function_dep, scope="function"),
        Depends(sync_dep),
    ]

    async def read_body(request: Request) -> bytes:
        received = b""
        # aclosing, as Trio asks of an async generator left early (a cancellation).
        async with aclosing(request.stream()) as chunks:
            for index in range(len(BODY_CHUNKS)):
                await checkpoint(state, f"body.read.{index}")
                while len(received) < 4 * (index + 1):
                    received += await chunks.__anext__()
            async for rest in chunks:
                received += rest
        return received

    def respond(background: BackgroundTasks) -> StreamingResponse:
        async def stream() -> AsyncIterator[bytes]:
            _log(state, "stream started")
            try:
                for index in range(3):
                    await checkpoint(state, f"stream.chunk.{index}")
                    yield f"chunk{index};".encode()
            finally:
                _log(state, "stream closed")

        background.add_task(_background, state)
        return StreamingResponse(stream(), media_type="text/plain")

    @app.post("/chaos/async", dependencies=deps)
    async def chaos_async(request: Request, background: BackgroundTasks) -> Any:
        await read_body(request)
        await checkpoint(state, "endpoint.async")
        return respond(background)

    @app.post("/chaos/thread", dependencies=deps)
    async def chaos_thread(request: Request, background: BackgroundTasks) -> Any:
        await read_body(request)
        await trio.to_thread.run_sync(checkpoint_in_thread, state, "endpoint.thread")
        return respond(background)

    @app.post("/chaos/sync", dependencies=deps)
    def chaos_sync(body: Annotated[bytes, Depends(_raw_body)]) -> Any:
        checkpoint_in_thread(state, "endpoint.sync")
        return PlainTextResponse(b"sync:" + body)

    @app.post("/chaos/nursery", dependencies=deps)
    async def chaos_nursery(
        request: Request, background: BackgroundTasks, nursery: RequestNursery
    ) -> Any:
        await read_body(request)
        done = trio.Event()

        async def child() -> None:
            _log(state, "child started")
            try:
                await checkpoint(state, "endpoint.nursery")
                done.set()
            finally:
                _log(state, "child ended")

        nursery.start_soon(child)
        await done.wait()
        return respond(background)

    @app.get("/ping")
    async def ping() -> PlainTextResponse:
        return PlainTextResponse("pong")

    async def ws_dep() -> AsyncIterator[str]:
        await checkpoint(state, "ws.dep.setup")
        _log(state, "ws.dep set up")
        try:
            yield "ws"
        finally:
            _log(state, "ws.dep torn down")
            await checkpoint(state, "ws.dep.teardown")

    @app.websocket("/ws", dependencies=[Depends(ws_dep)])
    async def socket(websocket: WebSocket) -> None:
        await checkpoint(state, "ws.accept")
        await websocket.accept()
        try:
            await checkpoint(state, "ws.receive")
            text = await websocket.receive_text()
            await trio.to_thread.run_sync(checkpoint_in_thread, state, "ws.thread")
            await checkpoint(state, "ws.send")
            await websocket.send_text(f"echo:{text}")
            await websocket.close()
        except WebSocketDisconnect as gone:  # as FastAPI's guide writes it
            _log(state, f"ws disconnected {gone.code}")

    return app


def _log(state: ChaosState, text: str) -> None:
    if state.run is not None:
        state.run.event(text)


async def _raw_body(request: Request) -> bytes:
    return await request.body()


async def _background(state: ChaosState) -> None:
    _log(state, "background started")
    try:
        await checkpoint(state, "background")
    finally:
        _log(state, "background ended")


class SendHooks:
    """Pure ASGI middleware: records the request's context and hooks each message sent."""

    def __init__(self, app: Any, state: ChaosState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        run = self.state.run
        if run is None or scope["type"] == "lifespan" or scope["path"] == "/ping":
            await self.app(scope, receive, send)
            return
        run.context = get_request_context(scope)
        sent = 0

        async def hooked_send(message: dict[str, Any]) -> None:
            nonlocal sent
            if message["type"] == "http.response.start":
                await checkpoint(self.state, "response.start")
            elif message["type"] == "http.response.body":
                await checkpoint(self.state, f"send.body.{sent}")
                sent += 1
            await send(message)

        await self.app(scope, receive, hooked_send)
