"""Real ``python -m trioapi`` processes for the command-line tests: start, poll, stop."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import trio


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@asynccontextmanager
async def trioapi_process(args: Sequence[str], cwd: Path, log: Path) -> AsyncIterator[trio.Process]:
    """Run ``python -m trioapi ARGS`` in a process group of its own; kill the group after."""
    with log.open("wb") as output:
        process = await trio.lowlevel.open_process(
            [sys.executable, "-m", "trioapi", *args],
            cwd=cwd,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: the reloader's workers go down with it
        )
        try:
            yield process
        finally:
            with contextlib.suppress(ProcessLookupError):  # it may have died on its own
                os.killpg(process.pid, signal.SIGTERM)
            with trio.move_on_after(5):
                await process.wait()
            if process.returncode is None:  # pragma: no cover - only if SIGTERM was ignored
                os.killpg(process.pid, signal.SIGKILL)
                await process.wait()


async def wait_for_body(client: httpx.AsyncClient, url: str, expected: str, log: Path) -> None:
    """Poll ``url`` until it answers ``expected``; the caller's deadline bounds the wait."""
    last = "no answer"
    try:
        while True:
            try:
                response = await client.get(url)
                last = f"{response.status_code} {response.text}"
                if response.text == expected:
                    return
            except httpx.TransportError as exc:  # not listening yet, or restarting
                last = repr(exc)
            await trio.sleep(0.05)  # polling interval only: correctness waits on the answer
    except trio.Cancelled:
        print(f"last answer: {last}\nserver output:\n{log.read_text()}")
        raise
