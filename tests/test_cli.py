"""The ``trioapi`` command: its options, and real servers started with ``python -m trioapi``."""

from __future__ import annotations

import os
import ssl
import sys
from functools import partial
from pathlib import Path

import httpx
import pytest
import trio
import trustme
from hypercorn.trio import serve

from examples.app import app as example_app
from tests.processes import free_port, trioapi_process, wait_for_body
from trioapi.cli import build_config, build_parser

REPO = Path(__file__).resolve().parent.parent


def config_for(*argv: str):
    return build_config(build_parser().parse_args(list(argv)))


def test_dev_serves_locally_with_the_reloader_and_trio_worker():
    config = config_for("dev", "main:app")

    assert config.application_path == "main:app"
    assert config.worker_class == "trio"
    assert config.bind == ["127.0.0.1:8000"]
    assert config.use_reloader is True
    assert config.loglevel == "DEBUG"
    assert config_for("dev", "main:app", "--no-reload").use_reloader is False


def test_run_binds_every_interface_without_the_reloader():
    config = config_for("run", "main:app", "--workers", "4", "--root-path", "/api")

    assert config.bind == ["0.0.0.0:8000"]
    assert config.use_reloader is False
    assert (config.workers, config.root_path) == (4, "/api")


def test_bind_is_repeatable_and_replaces_host_and_port():
    config = config_for(
        "run", "main:app", "--host", "10.0.0.1", "--bind", "127.0.0.1:9000", "--bind", "[::1]:9001"
    )
    assert config.bind == ["127.0.0.1:9000", "[::1]:9001"]
    assert config_for("run", "main:app", "--host", "10.0.0.1", "--port", "81").bind == [
        "10.0.0.1:81"
    ]


def test_tls_and_graceful_timeout_options_reach_hypercorn():
    config = config_for(
        "run",
        "main:app",
        "--certfile",
        "cert.pem",
        "--keyfile",
        "key.pem",
        "--graceful-timeout",
        "9",
    )
    assert (config.certfile, config.keyfile, config.graceful_timeout) == (
        "cert.pem",
        "key.pem",
        9.0,
    )


def test_connections_have_no_request_limit_unless_one_is_given():
    # hypercorn's own default (1000) drops the in-flight streams of a busy
    # HTTP/2 connection when reached (see trioapi.cli).
    assert config_for("run", "main:app").keep_alive_max_requests == sys.maxsize
    assert config_for("dev", "main:app").keep_alive_max_requests == sys.maxsize
    limited = config_for("run", "main:app", "--keep-alive-max-requests", "500")
    assert limited.keep_alive_max_requests == 500


def test_a_sub_command_is_required(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args([])
    assert info.value.code == 2
    assert "required: command" in capsys.readouterr().err


# -- real processes -------------------------------------------------------------------


async def test_run_serves_the_example_app_on_the_given_port(tmp_path: Path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = ["run", "examples.app:app", "--bind", f"127.0.0.1:{port}"]
    log = tmp_path / "server.log"
    async with trioapi_process(args, REPO, log), httpx.AsyncClient(base_url=base) as client:
        with trio.fail_after(20):
            await wait_for_body(client, "/", '{"message":"Hello from trioapi","docs":"/docs"}', log)
        docs = await client.get("/docs")
        created = await client.post("/notes", json={"title": "from the cli test"})

    assert docs.status_code == 200
    assert docs.headers["content-type"] == "text/html; charset=utf-8"
    assert (created.status_code, created.json()) == (
        201,
        {"title": "from the cli test", "body": "", "id": 1},
    )


APP_SOURCE = """\
from trioapi import TrioAPI

app = TrioAPI()


@app.get("/version")
async def version():
    return {version}
"""


def touch_later(module: Path, source: str) -> None:
    module.write_text(source)
    # A later mtime for sure, even on a file system with coarse timestamps.
    stat = module.stat()
    os.utime(module, (stat.st_atime, stat.st_mtime + 2))


async def test_dev_reloads_the_app_and_survives_a_syntax_error(tmp_path: Path):
    module = tmp_path / "main.py"
    module.write_text(APP_SOURCE.format(version='"one"'))
    port = free_port()
    # No app named: `trioapi dev` finds main.py:app as `fastapi dev` does.
    args = ["dev", "--bind", f"127.0.0.1:{port}"]
    log = tmp_path / "server.log"
    async with (
        trioapi_process(args, tmp_path, log),
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client,
    ):
        with trio.fail_after(20):
            await wait_for_body(client, "/version", '"one"', log)
        touch_later(module, APP_SOURCE.format(version='"two'))  # saved mid-edit
        with trio.fail_after(20):
            while "the old one keeps serving" not in log.read_text():
                await trio.sleep(0.05)
        still_one = await client.get("/version")
        touch_later(module, APP_SOURCE.format(version='"three"'))
        with trio.fail_after(20):
            await wait_for_body(client, "/version", '"three"', log)

    output = log.read_text()
    assert still_one.text == '"one"'
    assert "starting 1 worker(s) for main, reloading on changes" in output
    assert (
        f"Serving main:app on http://127.0.0.1:{port}, docs at http://127.0.0.1:{port}/docs"
        in output
    )
    assert "SyntaxError: unterminated string literal" in output
    assert "Changed: " in output


async def test_tls_options_serve_https_with_http2(tmp_path: Path):
    authority = trustme.CA()
    server_cert = authority.issue_cert("127.0.0.1")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    server_cert.cert_chain_pems[0].write_to_path(str(cert))
    server_cert.private_key_pem.write_to_path(str(key))
    config = config_for("run", "examples.app:app", "--certfile", str(cert), "--keyfile", str(key))
    config.bind = ["127.0.0.1:0"]  # the same config the command builds, on a free port
    config.accesslog = config.errorlog = None
    trust = ssl.create_default_context()
    authority.configure_trust(trust)

    shutdown = trio.Event()
    async with trio.open_nursery() as nursery:
        binds = await nursery.start(
            partial(serve, example_app, config, shutdown_trigger=shutdown.wait)
        )
        async with httpx.AsyncClient(verify=trust, http2=True) as client:
            response = await client.get(binds[0] + "/")
        shutdown.set()

    assert binds[0].startswith("https://127.0.0.1:")
    assert (response.status_code, response.http_version) == (200, "HTTP/2")
    assert response.json() == {"message": "Hello from trioapi", "docs": "/docs"}
