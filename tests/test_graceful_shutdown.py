"""Graceful shutdown through a real ``hypercorn --worker-class trio`` process and SIGTERM.

The app (examples/trio_features/graceful_shutdown.py) writes each step to an
event log file, which this test reads from the outside.
"""

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import trio

ROOT = Path(__file__).resolve().parent.parent


async def wait_for_line(path: Path, text: str) -> str:
    """Poll ``path`` until a line containing ``text`` appears (bounded by the caller)."""
    while True:
        if path.exists():
            for line in path.read_text().splitlines():
                if text in line:
                    return line
        await trio.sleep(0.01)


@contextlib.asynccontextmanager
async def hypercorn_process(
    app: str, graceful_timeout: int, events: Path, tmp_path: Path
) -> AsyncIterator[tuple[trio.Process, str]]:
    """Run ``hypercorn --worker-class trio app`` with the event log; yields it and its URL.

    The process is killed if it is still running when the block ends.
    """
    server_log = tmp_path / "server.log"
    command = [
        sys.executable, "-m", "hypercorn", "--worker-class", "trio",
        "--graceful-timeout", str(graceful_timeout),
        "--bind", "127.0.0.1:0", "--error-logfile", str(server_log), "--log-level", "INFO",
        app,
    ]  # fmt: skip
    env = {**os.environ, "TRIOAPI_EVENT_LOG": str(events)}
    process = await trio.lowlevel.open_process(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        running = await wait_for_line(server_log, "Running on ")
        yield process, running.split("Running on ")[1].split()[0]
    finally:
        if process.returncode is None:
            process.kill()
            # Shielded: the caller's fail_after may have fired; a killed process exits at once.
            with trio.CancelScope(shield=True):
                await process.wait()


async def test_sigterm_lets_the_request_finish_then_stops_app_tasks_then_runs_hooks(tmp_path):
    events = tmp_path / "events.log"
    responses: list[httpx.Response] = []
    app = "examples.trio_features.graceful_shutdown:app"
    with trio.fail_after(30):
        async with hypercorn_process(app, 10, events, tmp_path) as (process, url):
            async with httpx.AsyncClient(base_url=url, timeout=20) as client:

                async def fetch() -> None:
                    responses.append(await client.get("/slow", params={"seconds": 0.5}))

                async with trio.open_nursery() as nursery:
                    nursery.start_soon(fetch)
                    await wait_for_line(events, "slow started")
                    process.send_signal(signal.SIGTERM)
            returncode = await process.wait()
    assert returncode == 0
    assert [(r.status_code, r.json()) for r in responses] == [(200, {"status": "done"})]
    assert events.read_text().splitlines() == [
        "startup",
        "refresher started",
        "slow started",
        "slow finished",
        "background task ran",
        "refresher cancelled",
        "refresher cleaned up",
        "shutdown hook",
    ]


async def test_a_yield_dependency_in_flight_at_the_hard_cancel_is_torn_down_once(tmp_path):
    # hypercorn's graceful timeout ends with the requests still running: one
    # awaiting, one in a worker thread (teardown waits for the thread).
    events = tmp_path / "events.log"
    with trio.fail_after(30):
        async with hypercorn_process("tests.hard_cancel_app:app", 1, events, tmp_path) as (
            process,
            url,
        ):
            async with httpx.AsyncClient(base_url=url, timeout=20) as client:

                async def fetch(path: str) -> None:
                    with contextlib.suppress(httpx.HTTPError):
                        await client.get(path)  # cut by the shutdown

                async with trio.open_nursery() as nursery:
                    nursery.start_soon(fetch, "/held")
                    nursery.start_soon(fetch, "/held-in-thread")
                    # Both requests are in (each opened its dependency).
                    await wait_for_line(events, "opened")
                    while events.read_text().count("opened") < 2:
                        await trio.sleep(0.01)
                    process.send_signal(signal.SIGTERM)
            returncode = await process.wait()
    assert returncode == 0
    lines = events.read_text().splitlines()
    assert sorted(lines) == [
        "held-in-thread thread returned",
        "resource closed",
        "resource closed",
        "resource opened",
        "resource opened",
    ]
    # The thread's dependency was torn down only after the thread returned.
    assert lines.index("held-in-thread thread returned") < len(lines) - 1
