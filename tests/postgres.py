"""A throwaway PostgreSQL server for tests: initdb in a temp dir, on a free 127.0.0.1 port.

The tests that use it skip, with the reason, when the server's binaries are
not installed (``apt-get install postgresql`` puts them in
``/usr/lib/postgresql/<version>/bin``, not on PATH). ``TRIOAPI_PG_BIN``
names the directory to use instead. PostgreSQL refuses to run as root, so as root the server runs as
the ``postgres`` user the package creates.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

INSTALL_HINT = "install them with `apt-get install postgresql`"


@dataclass
class PostgresServer:
    bin_dir: Path
    port: int
    run_as: dict[str, Any]
    log: Path

    def url(self, database: str = "postgres", driver: str = "postgresql+asyncpg") -> str:
        return f"{driver}://postgres@127.0.0.1:{self.port}/{database}"

    def command(self, tool: str, *args: str) -> list[str]:
        return [
            str(self.bin_dir / tool),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            *args,
        ]

    def create_database(self, name: str) -> str:
        """Create database ``name``; returns its SQLAlchemy asyncpg URL."""
        subprocess.run(self.command("createdb", name), check=True, capture_output=True)
        return self.url(name)

    def sql(self, query: str) -> str:
        """Run ``query`` with psql; its unaligned output, stripped."""
        result = subprocess.run(
            self.command("psql", "-d", "postgres", "-At", "-c", query),
            check=True,
            capture_output=True,
            text=True,
        )
        return result.stdout.strip()

    def log_text(self) -> str:
        """The server's log so far."""
        return self.log.read_text(errors="replace")


def find_bin_dir() -> Path | None:
    """The newest directory holding initdb and pg_ctl, or None (``TRIOAPI_PG_BIN`` decides alone)."""
    override = os.environ.get("TRIOAPI_PG_BIN")
    if override is not None:
        candidates = [override]
    else:
        candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version, reverse=True)
        on_path = shutil.which("initdb")
        if on_path:
            candidates.append(str(Path(on_path).parent))
    for candidate in candidates:
        if all((Path(candidate) / tool).is_file() for tool in ("initdb", "pg_ctl")):
            return Path(candidate)
    return None


def _version(bin_dir: str) -> int:
    name = Path(bin_dir).parent.name
    return int(name) if name.isdigit() else 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_user() -> dict[str, Any]:
    """subprocess arguments that run the server as a user PostgreSQL accepts."""
    if os.geteuid() != 0:
        return {}
    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip(
            "PostgreSQL refuses to run as root, and there is no 'postgres' user to run it as"
        )
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


def start_server(bin_dir: Path, root: Path, run_as: dict[str, Any]) -> int:
    """initdb and start a server in ``root``; its port. Skips, with the output, if it cannot."""
    data = root / "data"
    initdb = [
        str(bin_dir / "initdb"),
        "-D",
        str(data),
        "-U",
        "postgres",
        "-A",
        "trust",
        "--no-sync",
    ]
    result = subprocess.run(initdb, capture_output=True, text=True, cwd=root, **run_as)
    for _attempt in range(3):  # another process may take the free port first
        if result.returncode:
            break
        port = free_port()
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
        start = [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(root / "log")]
        start += ["-o", options, "-w", "start"]
        result = subprocess.run(start, capture_output=True, text=True, cwd=root, **run_as)
        if not result.returncode:
            return port
    log = root / "log"
    output = result.stdout + result.stderr + (log.read_text() if log.exists() else "")
    pytest.skip(f"PostgreSQL could not be started from {bin_dir}: {output.strip()[-500:]}")


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    bin_dir = find_bin_dir()
    if bin_dir is None:
        pytest.skip(
            "PostgreSQL server binaries (initdb, pg_ctl) not found in /usr/lib/postgresql/*/bin "
            f"or on PATH: {INSTALL_HINT} to run the PostgreSQL tests"
        )
    run_as = server_user()
    root = Path(tempfile.mkdtemp(prefix="trioapi-pg-"))
    if run_as:
        os.chown(root, run_as["user"], run_as["group"])
    try:
        port = start_server(bin_dir, root, run_as)
        yield PostgresServer(bin_dir, port, run_as, root / "log")
    finally:
        stop = [str(bin_dir / "pg_ctl"), "-D", str(root / "data"), "-m", "immediate", "-w", "stop"]
        subprocess.run(stop, capture_output=True, cwd=root, **run_as)
        shutil.rmtree(root, ignore_errors=True)
