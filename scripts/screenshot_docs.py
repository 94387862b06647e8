"""Screenshot the example app's /docs and /redoc, and two pages of the documentation site.

Both are served by hypercorn's trio worker and shot in headless Chromium.

    make screenshots      # or: .venv/bin/python scripts/screenshot_docs.py

Needs ``chromium`` (``apt-get install chromium``) and the ``docs-assets`` extra
(``pip install -e '.[docs-assets]'``). The machine may have no CDN, so the app
serves Swagger UI itself through ``serve_docs_assets``; ReDoc's bundle is
fetched once from the npm registry with ``npm pack redoc@2`` (skipped, and the
page left on the CDN, when npm is missing). The site is built with ``mkdocs build``
into a temporary directory and served by ``scripts/docs_site_app.py``. The PNGs go
to ``docs/screenshots/``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
REDOC_CACHE = Path(os.environ.get("REDOC_CACHE", "/tmp/trioapi-redoc"))


def fetch_redoc() -> Path | None:
    """ReDoc's standalone bundle, from ``npm pack`` into a cache directory."""
    target = REDOC_CACHE / "redoc.standalone.js"
    if target.is_file():
        return target
    if shutil.which("npm") is None:
        print("npm not found: /redoc will load ReDoc from the CDN", file=sys.stderr)
        return None
    REDOC_CACHE.mkdir(parents=True, exist_ok=True)
    name = (
        subprocess.run(
            ["npm", "pack", "redoc@2", "--silent"],
            cwd=REDOC_CACHE,
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    with tarfile.open(REDOC_CACHE / name) as archive:
        member = archive.extractfile("package/bundles/redoc.standalone.js")
        assert member is not None
        target.write_bytes(member.read())
    return target


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_up(url: str, server: subprocess.Popen[bytes], attempts: int = 100) -> bytes:
    """Poll ``url`` until it answers (every 0.1 s, ``attempts`` times); returns the body."""
    for _ in range(attempts):
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode} before answering")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                body: bytes = response.read()
                return body
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer")


def screenshot(browser: str, url: str, png: Path) -> None:
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--screenshot={png}",
            "--window-size=1280,900",
            "--virtual-time-budget=10000",
            url,
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    print(f"{png.relative_to(ROOT)}: {png.stat().st_size} bytes")


def serve(module: str, env: dict[str, str]) -> tuple[str, subprocess.Popen[bytes]]:
    """Start ``module:app`` under hypercorn's trio worker on a free port."""
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hypercorn",
            "--worker-class",
            "trio",
            "--bind",
            f"127.0.0.1:{port}",
            f"{module}:app",
        ],
        cwd=ROOT,
        env=env,
    )
    return f"http://127.0.0.1:{port}", server


def stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    server.wait(timeout=10)


def shoot_api_docs(browser: str, env: dict[str, str]) -> None:
    redoc = fetch_redoc()
    if redoc is not None:
        env = {**env, "TRIOAPI_REDOC_JS": str(redoc)}
    base, server = serve("scripts.docs_offline_app", env)
    try:
        wait_until_up(f"{base}/openapi.json", server)
        screenshot(browser, f"{base}/docs", OUT / "swagger-ui.png")
        screenshot(browser, f"{base}/redoc", OUT / "redoc.png")
    finally:
        stop(server)


def shoot_site(browser: str, env: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory() as site:
        subprocess.run(
            [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", site],
            cwd=ROOT,
            check=True,
            env={**env, "NO_MKDOCS_2_WARNING": "1"},
        )
        base, server = serve("scripts.docs_site_app", {**env, "TRIOAPI_SITE_DIR": site})
        try:
            wait_until_up(f"{base}/", server)
            screenshot(browser, f"{base}/", OUT / "site-home.png")
            screenshot(
                browser,
                f"{base}/tutorial/dependencies-with-yield/",
                OUT / "site-yield-dependencies.png",
            )
        finally:
            stop(server)


def main() -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise SystemExit("chromium not found: apt-get install chromium")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    OUT.mkdir(parents=True, exist_ok=True)
    shoot_api_docs(browser, env)
    shoot_site(browser, env)


if __name__ == "__main__":
    main()
