"""Screenshot /docs and /redoc of the example app, served by hypercorn, in headless Chromium.

    make screenshots      # or: .venv/bin/python scripts/screenshot_docs.py

Needs ``chromium`` (``apt-get install chromium``) and the ``docs-assets`` extra
(``pip install -e '.[docs-assets]'``). The machine may have no CDN, so the app
serves Swagger UI itself through ``serve_docs_assets``; ReDoc's bundle is
fetched once from the npm registry with ``npm pack redoc@2`` (skipped, and the
page left on the CDN, when npm is missing). The PNGs go to ``docs/screenshots/``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tarfile
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
    name = subprocess.run(
        ["npm", "pack", "redoc@2", "--silent"], cwd=REDOC_CACHE, check=True,
        capture_output=True, text=True,
    ).stdout.strip().splitlines()[-1]
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


def wait_until_up(url: str, server: subprocess.Popen[bytes]) -> None:
    for _ in range(100):
        if server.poll() is not None:
            raise SystemExit(f"hypercorn exited with {server.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer")


def screenshot(browser: str, url: str, png: Path) -> None:
    subprocess.run(
        [
            browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            f"--screenshot={png}", "--window-size=1280,900", "--virtual-time-budget=10000", url,
        ],
        check=True, capture_output=True, timeout=120,
    )
    print(f"{png.relative_to(ROOT)}: {png.stat().st_size} bytes")


def main() -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise SystemExit("chromium not found: apt-get install chromium")
    redoc = fetch_redoc()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if redoc is not None:
        env["TRIOAPI_REDOC_JS"] = str(redoc)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "hypercorn", "--worker-class", "trio",
         "--bind", f"127.0.0.1:{port}", "scripts.docs_offline_app:app"],
        cwd=ROOT, env=env,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base}/openapi.json", server)
        OUT.mkdir(parents=True, exist_ok=True)
        screenshot(browser, f"{base}/docs", OUT / "swagger-ui.png")
        screenshot(browser, f"{base}/redoc", OUT / "redoc.png")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
