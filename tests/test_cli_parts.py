"""The command's parts in-process: discovery, options, log format, readiness probe, file watcher."""

from __future__ import annotations

import io
import json
import logging
import os
import sys
from pathlib import Path

import pytest
import trio

from tests.trio_support import call, http_scope
from trioapi import TrioAPI, __version__
from trioapi._cli.discovery import AppLocation, AppNotFoundError, load_app, locate_app
from trioapi._cli.logs import (
    JSONFormatter,
    OneTracebackFilter,
    ServerLogger,
    access_record,
    configure_logging,
)
from trioapi._cli.reload import FileWatcher
from trioapi._cli.served import ServedApp
from trioapi.cli import build_config, build_options, build_parser
from trioapi.cli import main as cli_main


def parse(*argv: str):
    return build_parser().parse_args(list(argv))


# -- options ------------------------------------------------------------------


def test_version_names_trioapi_hypercorn_trio_and_python(capsys):
    with pytest.raises(SystemExit) as info:
        parse("--version")
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"trioapi {__version__} (hypercorn 0.")
    assert ", trio 0." in out and "Python 3." in out


def test_port_and_workers_default_from_the_environment(monkeypatch):
    monkeypatch.setenv("PORT", "9123")
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    config = build_config(parse("run", "main:app"))
    assert (config.bind, config.workers) == (["0.0.0.0:9123"], 3)


def test_dev_logs_debug_and_reloads_run_logs_info_and_does_not():
    dev, run = parse("dev", "main:app"), parse("run", "main:app")
    assert (dev.log_level, dev.reload, run.log_level, run.reload) == ("debug", True, "info", False)
    assert parse("run", "main:app", "--reload").reload is True
    assert parse("dev", "main:app", "--no-reload").reload is False


def test_access_log_is_on_unless_turned_off():
    assert build_config(parse("run", "main:app")).accesslog == "-"
    assert build_config(parse("run", "main:app", "--no-access-log")).accesslog is None
    assert build_config(parse("run", "main:app")).logger_class is ServerLogger


def test_options_carry_proxy_reload_probe_and_factory_settings(tmp_path: Path):
    args = parse(
        "run", "main:make_app", "--factory", "--app-dir", str(tmp_path), "--no-proxy-headers",
        "--forwarded-allow-ips", "10.0.0.0/8", "--health-path", "/ready", "--reload-dir", "src",
        "--log-format", "json", "--log-level", "warning",
    )  # fmt: skip
    options = build_options(args)
    assert options.location == AppLocation(str(tmp_path), "main", "make_app")
    assert (options.factory, options.proxy_headers, options.forwarded_allow_ips) == (
        True,
        False,
        "10.0.0.0/8",
    )
    assert (options.health_path, options.reload_dirs) == ("/ready", ("src",))
    assert (options.json_logs, options.log_level) == (True, "warning")


# -- discovery ----------------------------------------------------------------


def test_discovery_finds_main_py_then_app_package_files(tmp_path: Path):
    with pytest.raises(AppNotFoundError, match=r"none of main\.py, app\.py.* found in"):
        locate_app(None, str(tmp_path))
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("")
    (tmp_path / "app" / "main.py").write_text("")
    assert locate_app(None, str(tmp_path)) == AppLocation(str(tmp_path), "app.main")
    (tmp_path / "main.py").write_text("")
    assert locate_app(None, str(tmp_path)) == AppLocation(str(tmp_path), "main")


def test_a_file_path_is_imported_by_its_package_name(tmp_path: Path):
    (tmp_path / "pkg" / "api").mkdir(parents=True)
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "api" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "api" / "server.py").write_text("")
    found = locate_app("pkg/api/server.py:api", str(tmp_path))
    assert found == AppLocation(str(tmp_path), "pkg.api.server", "api")
    assert locate_app("main:app", str(tmp_path)) == AppLocation(str(tmp_path), "main", "app")
    with pytest.raises(AppNotFoundError, match=r"nope\.py: no such file"):
        locate_app("nope.py", str(tmp_path))


@pytest.fixture
def module_dir(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield tmp_path
    for name in [name for name in sys.modules if name.startswith("cli_discovery_")]:
        del sys.modules[name]


def test_load_app_finds_app_api_or_any_trioapi_instance_and_calls_factories(module_dir: Path):
    source = "from trioapi import TrioAPI\n{}\n"
    (module_dir / "cli_discovery_a.py").write_text(source.format("api = TrioAPI()"))
    (module_dir / "cli_discovery_b.py").write_text(source.format("service = TrioAPI()"))
    (module_dir / "cli_discovery_c.py").write_text(
        source.format("def make():\n    return TrioAPI()")
    )
    (module_dir / "cli_discovery_d.py").write_text("x = 1\n")
    directory = str(module_dir)

    api, name_a = load_app(AppLocation(directory, "cli_discovery_a"))
    _, name_b = load_app(AppLocation(directory, "cli_discovery_b"))
    made, name_c = load_app(AppLocation(directory, "cli_discovery_c", "make"), factory=True)
    assert isinstance(api, TrioAPI) and isinstance(made, TrioAPI)
    assert (name_a, name_b, name_c) == (
        "cli_discovery_a:api",
        "cli_discovery_b:service",
        "cli_discovery_c:make",
    )
    with pytest.raises(AppNotFoundError, match=r"No app found in module 'cli_discovery_d'"):
        load_app(AppLocation(directory, "cli_discovery_d"))
    with pytest.raises(AppNotFoundError, match=r"has no attribute 'nope'"):
        load_app(AppLocation(directory, "cli_discovery_d", "nope"))
    with pytest.raises(AppNotFoundError, match=r"Could not import module 'cli_discovery_zz'"):
        load_app(AppLocation(directory, "cli_discovery_zz"))


# -- logging ------------------------------------------------------------------


def test_access_record_has_method_path_status_duration_id_and_protocol():
    scope = http_scope("/items?q=1", headers=[(b"x-request-id", b"abc")])
    scope["http_version"] = "2"
    message, args, extra = access_record(scope, {"status": 201}, 0.0123)
    assert message % args == '127.0.0.1:1234 - "GET /items?q=1 HTTP/2" 201 12.3 ms [abc]'
    assert extra == {
        "client": "127.0.0.1:1234",
        "method": "GET",
        "path": "/items",
        "protocol": "HTTP/2",
        "status": 201,
        "duration_ms": 12.3,
        "request_id": "abc",
    }


def test_json_lines_carry_the_extra_fields_and_the_traceback():
    record = logging.LogRecord("trioapi.access", logging.INFO, "", 0, "%s done", ("GET",), None)
    record.status = 200
    line = json.loads(JSONFormatter().format(record))
    assert (line["level"], line["logger"], line["message"], line["status"]) == (
        "INFO",
        "trioapi.access",
        "GET done",
        200,
    )
    assert line["time"].endswith("Z")
    try:
        raise ValueError("bad")
    except ValueError:
        failed = logging.LogRecord("x", logging.ERROR, "", 0, "m", (), sys.exc_info())
    assert "ValueError: bad" in json.loads(JSONFormatter().format(failed))["exception"]


def test_hypercorn_does_not_log_an_error_trioapi_already_logged():
    filter_ = OneTracebackFilter()
    seen, unseen = ValueError("seen"), ValueError("unseen")

    def record(name: str, error: BaseException) -> logging.LogRecord:
        return logging.LogRecord(name, logging.ERROR, "", 0, "m", (), (type(error), error, None))

    assert filter_.filter(record("trioapi", seen))
    assert not filter_.filter(record("hypercorn.error", seen))
    assert not filter_.filter(record("hypercorn.error", ExceptionGroup("g", [seen])))
    assert filter_.filter(record("hypercorn.error", unseen))


def test_configure_logging_reaches_app_loggers_with_time_and_level(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("warning")
        logging.getLogger("someapp").warning("careful")
        logging.getLogger("someapp").info("hidden")
    finally:
        root.handlers, _ = saved
        root.setLevel(saved[1])
    line = stream.getvalue()
    assert "WARNING someapp: careful" in line and "hidden" not in line
    assert line[:4].isdigit()  # starts with the date


# -- the readiness probe ------------------------------------------------------


async def test_probe_answers_503_while_starting_200_when_ready_and_503_while_draining():
    app = TrioAPI()
    served = ServedApp(app, "/healthz")
    starting = await call(served, "/healthz")
    served.mark_ready_without_lifespan()
    ready = await call(served, "/healthz")
    trigger = served.shutdown_trigger(trio.lowlevel.checkpoint)
    await trigger()
    draining = await call(served, "/healthz")
    assert [(r.status, r.json()) for r in (starting, ready, draining)] == [
        (503, {"status": "starting"}),
        (200, {"status": "ready"}),
        (503, {"status": "draining"}),
    ]
    missing = await call(served, "/nothing")
    assert missing.status == 404


# -- reload -------------------------------------------------------------------


def test_file_watcher_sees_new_changed_and_removed_files_but_not_hidden_dirs(tmp_path: Path):
    (tmp_path / "a.py").write_text("")
    (tmp_path / ".venv").mkdir()
    watcher = FileWatcher([str(tmp_path)])
    assert watcher.changed() == []
    (tmp_path / ".venv" / "lib.py").write_text("")
    (tmp_path / "b.py").write_text("")
    assert watcher.changed() == [str(tmp_path / "b.py")]
    stat = (tmp_path / "a.py").stat()
    os.utime(tmp_path / "a.py", (stat.st_atime, stat.st_mtime + 2))
    (tmp_path / "b.py").unlink()
    assert watcher.changed() == [str(tmp_path / "a.py"), str(tmp_path / "b.py")]


@pytest.mark.parametrize(("command", "expected"), [("dev", "development"), ("run", None)])
def test_dev_tells_the_app_it_is_in_development(command, expected, tmp_path, monkeypatch):
    # As `fastapi dev` sets FASTAPI_ENV; set before the app is imported, and
    # inherited by worker processes. Discovery fails here, after that point.
    monkeypatch.chdir(tmp_path)
    # setenv first: monkeypatch then restores "unset" after the command set it.
    monkeypatch.setenv("TRIOAPI_ENV", "unset-below")
    monkeypatch.delenv("TRIOAPI_ENV")
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        assert cli_main([command, "nope.py"]) == 2
    finally:
        root.handlers[:], root.level = handlers, level
    assert os.environ.get("TRIOAPI_ENV") == expected
