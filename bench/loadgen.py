"""The load generators of the served benchmarks: wrk for HTTP/1.1, h2load for HTTP/2 (h2c).

Both keep one request in flight per connection. wrk runs for a number of
seconds and says how many requests it got answered; h2load sends a number of
requests. h2load is not used over HTTP/1.1: it cannot read hypercorn's
status line, which has no reason phrase (``HTTP/1.1 200 \\r\\n``), counts
each answer as a failure and opens a new connection after it, so it
measures connection set-up rather than requests.

Each raises ``SystemExit`` with the tool's output unless every request got a
2xx answer.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["LoadRun", "h2load", "require", "wrk"]

Headers = Sequence[tuple[bytes, bytes]]


@dataclass(frozen=True)
class LoadRun:
    """What one load run got: how many requests were answered, and at what rate."""

    requests: int
    per_second: float


def require(*tools: str) -> None:
    """Exit with how to install them unless ``tools`` are on PATH."""
    packages = {"h2load": "nghttp2-client", "wrk": "wrk"}
    for tool in tools:
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed (Debian: apt-get install {packages[tool]})")


def wrk(
    url: str,
    *,
    seconds: int,
    connections: int,
    method: str = "GET",
    headers: Headers = (),
    body: bytes | None = None,
    prefix: Sequence[str] = (),
) -> LoadRun:
    """HTTP/1.1 keep-alive load on ``url`` (path and query included) for ``seconds``.

    ``prefix`` goes before the command (``taskset -c 1``, to pin the load generator).
    """
    command = [*prefix, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s"]
    for name, value in headers:
        command += ["-H", f"{name.decode()}: {value.decode()}"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        if method != "GET" or body is not None:
            # Every byte as a decimal escape: any body is a valid Lua string.
            escaped = "".join(f"\\{byte}" for byte in body or b"")
            script.write(f'wrk.method = "{method}"\nwrk.body = "{escaped}"\n')
            script.flush()
            command += ["-s", script.name]
        result = subprocess.run([*command, url], capture_output=True, text=True, check=False)
    output = result.stdout
    done = re.search(r"(\d+) requests in ([\d.]+)(ms|s)\b", output)
    if result.returncode or done is None or "Non-2xx" in output or "Socket errors" in output:
        raise SystemExit(f"wrk did not get only 2xx answers from {url}:\n{output}{result.stderr}")
    elapsed = float(done.group(2)) / (1000 if done.group(3) == "ms" else 1)
    return LoadRun(int(done.group(1)), int(done.group(1)) / elapsed)


def h2load(
    url: str,
    *,
    requests: int,
    connections: int,
    headers: Headers = (),
    body: bytes | None = None,
    prefix: Sequence[str] = (),
) -> LoadRun:
    """``requests`` HTTP/2 (h2c, prior knowledge) requests to ``url``; a POST with ``body``.

    ``prefix`` goes before the command, as for :func:`wrk`.
    """
    command = [*prefix, "h2load", "-n", str(requests), "-c", str(connections), "-m", "1"]
    for name, value in headers:
        command += ["-H", f"{name.decode()}: {value.decode()}"]
    with tempfile.NamedTemporaryFile(suffix=".body") as data:
        if body is not None:
            data.write(body)
            data.flush()
            command += ["-d", data.name]
        result = subprocess.run([*command, url], capture_output=True, text=True, check=False)
    output = result.stdout
    rate = re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", output)
    if result.returncode or rate is None or f"status codes: {requests} 2xx" not in output:
        raise SystemExit(f"h2load did not get {requests} 2xx answers from {url}:\n{output}")
    return LoadRun(requests, float(rate.group(1)))
