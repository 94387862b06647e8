"""Replay examples/Dockerfile without a container engine, to check what the image would do.

    make docker-dry-run      # or: python3 scripts/dockerfile_dry_run.py

The machine this project is built on has the docker client but no engine, so
the image is never built here. This script does the same steps on the host:
it copies only what the COPY lines name into an empty directory (the build
context the image sees), creates a fresh virtualenv, runs the RUN pip line
there (a regular, non-editable install: the wheel must carry every file
trioapi needs), sets the ENV lines, starts the CMD, and checks that the app
answers and that SIGTERM (``docker stop``) ends it cleanly within the
graceful timeout. It does not check the base image or the user switch.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

# Run as a script: this directory is on sys.path.
from screenshot_docs import free_port, wait_until_up

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "examples" / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (keyword, rest) pairs, comments dropped."""
    found = []
    for line in DOCKERFILE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            keyword, _, rest = line.strip().partition(" ")
            found.append((keyword.upper(), rest))
    return found


def copy_into(context: Path, sources: list[str], target: str) -> None:
    destination = context / target.lstrip("./") if target not in ("./", ".") else context
    for source in sources:
        path = ROOT / source
        if path.is_dir():
            shutil.copytree(
                path, destination, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            destination.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, destination / path.name)


def main() -> None:
    steps = instructions()
    with tempfile.TemporaryDirectory() as scratch:
        context = Path(scratch) / "srv"
        context.mkdir()
        venv = Path(scratch) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        env = {**os.environ, "PATH": f"{venv / 'bin'}:{os.environ['PATH']}"}
        env.pop("PYTHONPATH", None)
        data = Path(scratch) / "data"
        data.mkdir()
        command: list[str] = []
        for keyword, rest in steps:
            if keyword == "COPY":
                *sources, target = rest.split()
                copy_into(context, sources, target)
            elif keyword == "RUN" and rest.startswith("pip "):
                print(f"RUN {rest}", flush=True)
                subprocess.run(
                    [
                        str(venv / "bin" / "python"),
                        "-m",
                        *shlex.split(rest),
                        "--disable-pip-version-check",
                        "--quiet",
                    ],
                    cwd=context,
                    env=env,
                    check=True,
                )
            elif keyword == "ENV":
                for assignment in shlex.split(rest):
                    name, _, value = assignment.partition("=")
                    env[name] = value.replace("/srv/data", str(data))
            elif keyword == "CMD":
                command = json.loads(rest)
        assert command, "the Dockerfile has no CMD"
        port = free_port()
        command = [part if part != "8000" else str(port) for part in command]
        print("CMD", " ".join(command), flush=True)
        server = subprocess.Popen(command, cwd=context, env=env)
        try:
            body = wait_until_up(f"http://127.0.0.1:{port}/", server, attempts=300)
            print(f"GET / -> {body[:80]!r}")
            # The docs page and the document: files and modules a wheel might leave out.
            for path in ("/docs", "/openapi.json"):
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as reply:
                    print(f"GET {path} -> {reply.status}, {len(reply.read())} bytes")
            started = time.monotonic()
            server.send_signal(signal.SIGTERM)
            code = server.wait(timeout=30)
            print(f"SIGTERM -> exit {code} after {time.monotonic() - started:.1f} s")
            if code != 0:
                raise SystemExit(f"the server exited with {code} on SIGTERM")
        finally:
            if server.poll() is None:
                server.kill()
    print("dockerfile dry run: OK")


if __name__ == "__main__":
    main()
