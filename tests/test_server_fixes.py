"""The server layer's register: each hypercorn fix checked, applied once, logged, and switchable.

These run in this process on fresh registers (``FixRegister``) so that the
process's own fixes, applied by the first ``TrioAPI`` served here, stay as
they are. The fixes' effects are tested through hypercorn in their own
files (``tests/test_hypercorn_crashes.py``, ``test_server_idle.py``, ...);
through a hypercorn process at the end of this file.
"""

from __future__ import annotations

import enum
import logging
import sys
import types
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import httpx
import pytest
from hypercorn import protocol as hypercorn_protocol
from hypercorn.protocol import h2 as h2_protocol
from hypercorn.protocol import http_stream
from hypercorn.protocol.h2 import H2Protocol
from hypercorn.protocol.h11 import H11Protocol
from hypercorn.trio import run as worker_run
from hypercorn.trio.task_group import TaskGroup
from hypercorn.trio.tcp_server import TCPServer
from hypercorn.trio.worker_context import TrioSingleTask

from tests.test_shutdown_hypercorn_cli import (
    APP_SOURCE,
    EXPECTED,
    hypercorn_command,
    open_server,
    serve_and_stop,
)
from trioapi.server import ENV_VAR, HypercornFix, HypercornFixesError
from trioapi.server._catalog import FIX_MODULES
from trioapi.server._extend import extension_fix
from trioapi.server._registry import FixRegister, load_fixes, plan_fixes

NAMES = list(FIX_MODULES)


@pytest.fixture(autouse=True)
def _no_switch_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests choose the switch themselves, whatever the run was started with."""
    monkeypatch.delenv(ENV_VAR, raising=False)


def catalog() -> dict[str, HypercornFix]:
    return {fix.name: fix for fix in load_fixes(FIX_MODULES)}


def hypercorn_names() -> dict[str, object]:
    """Every name the fixes rebind (or switch on), to show that nothing changed."""
    from trioapi.server import _response_start

    return {
        "TCPServer": worker_run.TCPServer,
        "worker_serve": worker_run.worker_serve,
        "H11Protocol": hypercorn_protocol.H11Protocol,
        "H2Protocol": hypercorn_protocol.H2Protocol,
        "repair": _response_start._stream_class,
    }


def fix_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "trioapi.server" and r.levelno == logging.INFO
    ]


def test_every_module_of_the_catalog_declares_the_fix_it_is_listed_as():
    assert list(catalog()) == NAMES
    assert {fix.releases for fix in catalog().values()} == {("0.17", "0.18")}


# -- each fix's shape check refuses a hypercorn that changed ------------------


async def _close_with_a_new_parameter(self: Any, how: str) -> None:
    del self, how


def _init_without_send_lock(self: Any, *args: Any) -> None:
    self.stream = args[-1]


async def _restart_without_task_group(self: Any, action: Any) -> None:
    del self, action


async def _worker_serve_with_positional_trigger(
    app: object, config: object, shutdown_trigger: object = None
) -> None:
    del app, config, shutdown_trigger


async def _read_data_rewritten(self: Any) -> None:
    await self.stream.receive_all()


async def _send_data_rewritten(self: Any, stream_id: int) -> None:
    await self.send_frames(stream_id)


class _StatesWithoutResponse(enum.Enum):
    REQUEST = 1
    CLOSED = 2


# fix name, how hypercorn changed (on the monkeypatch), the reason logged
CHANGED_SHAPES: list[tuple[str, Callable[[pytest.MonkeyPatch], None], str]] = [
    (
        "send-eof-lock",
        lambda mp: mp.setattr(worker_run, "TCPServer", type("TCPServer", (), {})),
        "hypercorn.trio.run:TCPServer is not hypercorn's TCPServer any more",
    ),
    (
        "send-eof-lock",
        lambda mp: mp.delattr(TCPServer, "protocol_send"),
        "TCPServer has no protocol_send",
    ),
    (
        "send-eof-lock",
        lambda mp: mp.setattr(TCPServer, "_close", _close_with_a_new_parameter),
        "TCPServer._close takes (self, how), not (self)",
    ),
    (
        "send-eof-lock",
        lambda mp: mp.setattr(TCPServer, "__init__", _init_without_send_lock),
        "TCPServer.__init__ does not set send_lock",
    ),
    (
        "direct-send",
        lambda mp: mp.setattr(TCPServer, "protocol_send", _restart_without_task_group),
        "TCPServer.protocol_send takes (self, action), not (self, event)",
    ),
    (
        "skip-empty-write",
        lambda mp: mp.setattr(TCPServer, "protocol_send", _restart_without_task_group),
        "TCPServer.protocol_send takes (self, action), not (self, event)",
    ),
    (
        "h2-end-with-data",
        lambda mp: mp.setattr(H2Protocol, "_send_data", _send_data_rewritten),
        "H2Protocol._send_data is not the one this fix was written for",
    ),
    (
        "app-queue-nowait",
        lambda mp: mp.delattr(TaskGroup, "spawn_app"),
        "TaskGroup has no spawn_app",
    ),
    (
        "h11-head-with-body",
        lambda mp: mp.setattr(H11Protocol, "__init__", _init_without_send_lock),
        "H11Protocol.__init__ does not set send",
    ),
    (
        "h2-head-with-body",
        lambda mp: mp.delattr(H2Protocol, "_flush"),
        "H2Protocol has no _flush",
    ),
    (
        "read-without-scope",
        lambda mp: mp.setattr(TCPServer, "_read_data", _read_data_rewritten),
        "TCPServer._read_data is not the one this fix was written for",
    ),
    (
        "idle-task",
        lambda mp: mp.setattr(TrioSingleTask, "restart", _restart_without_task_group),
        "TrioSingleTask.restart is not restart(task_group, action)",
    ),
    (
        "ambiguous-framing",
        lambda mp: mp.delattr(H11Protocol, "_send_error_response"),
        "H11Protocol has no _send_error_response",
    ),
    (
        "lingering-close",
        lambda mp: mp.setattr(TCPServer, "_read_data", _close_with_a_new_parameter),
        "TCPServer._read_data takes (self, how), not (self)",
    ),
    (
        "early-answer-close",
        lambda mp: mp.setattr(hypercorn_protocol, "H11Protocol", type("H11Protocol", (), {})),
        "hypercorn.protocol:H11Protocol is not hypercorn's H11Protocol any more",
    ),
    (
        "h2-late-data",
        lambda mp: mp.setattr(H2Protocol, "__init__", _init_without_send_lock),
        "H2Protocol.__init__ does not set connection, streams",
    ),
    (
        "h2-stream-cancel",
        lambda mp: mp.delattr(H2Protocol, "_flush"),
        "H2Protocol has no _flush",
    ),
    (
        "h2-reset",
        lambda mp: mp.setattr(h2_protocol, "StreamClosed", type("StreamClosed", (), {})),
        "hypercorn.protocol.h2 does not use StreamClosed any more",
    ),
    (
        "response-start-repair",
        lambda mp: mp.setattr(http_stream, "ASGIHTTPState", _StatesWithoutResponse),
        "hypercorn.protocol.http_stream.ASGIHTTPState has no REQUEST and RESPONSE",
    ),
    (
        "shutdown-trigger",
        lambda mp: mp.setattr(worker_run, "worker_serve", _worker_serve_with_positional_trigger),
        "hypercorn.trio.run.worker_serve takes no keyword-only shutdown_trigger",
    ),
]


@pytest.mark.parametrize(
    ("name", "change", "reason"),
    CHANGED_SHAPES,
    ids=[f"{name}-{index}" for index, (name, _, _) in enumerate(CHANGED_SHAPES)],
)
def test_a_fix_refuses_a_changed_shape_and_is_skipped_whole_with_its_reason(
    name, change, reason, monkeypatch, caplog
):
    fix = catalog()[name]
    assert fix.check_shape() is None  # the shape it was written for
    change(monkeypatch)
    assert fix.check_shape() == reason
    before = hypercorn_names()
    caplog.set_level(logging.INFO, "trioapi.server")
    assert FixRegister(lambda: [fix]).apply() == frozenset()
    assert hypercorn_names() == before
    assert fix_lines(caplog) == [f"Skipped hypercorn fix {name}: {reason}"]


def test_a_fix_whose_module_does_not_import_is_logged_as_skipped(caplog):
    caplog.set_level(logging.INFO, "trioapi.server")
    fixes = load_fixes({"gone": "trioapi.server._no_such_fix"})
    assert FixRegister(lambda: fixes).apply() == frozenset()
    assert fix_lines(caplog) == [
        "Skipped hypercorn fix gone: its module does not import "
        "(No module named 'trioapi.server._no_such_fix')"
    ]


# -- which fixes apply: release, switch, caller --------------------------------


def test_on_an_unknown_hypercorn_release_every_fix_is_skipped_and_nothing_changes(
    monkeypatch, caplog
):
    monkeypatch.setattr("trioapi.server._registry.hypercorn_version", lambda: "0.19.0")
    before = hypercorn_names()
    caplog.set_level(logging.INFO, "trioapi.server")
    register = FixRegister(lambda: load_fixes(FIX_MODULES))
    assert register.apply() == frozenset()
    assert hypercorn_names() == before
    assert fix_lines(caplog) == [
        f"Skipped hypercorn fix {name}: hypercorn 0.19.0 is not a release it was checked "
        "against (0.17, 0.18)"
        for name in NAMES
    ]


def test_the_graceful_shutdown_fix_does_not_depend_on_the_crash_fix_release_check():
    fixes = catalog()
    fixes["send-eof-lock"] = replace(fixes["send-eof-lock"], releases=("0.17",))
    decisions = {
        d.fix.name: (d.applies, d.reason)
        for d in plan_fixes(list(fixes.values()), version="0.18.0")
    }
    assert decisions["send-eof-lock"] == (
        False,
        "hypercorn 0.18.0 is not a release it was checked against (0.17)",
    )
    assert decisions["shutdown-trigger"] == (True, "")


@pytest.mark.parametrize(
    ("switch", "applied"),
    [
        (None, NAMES),
        ("1", NAMES),
        ("0", []),
        ("off", []),
        (
            "-send-eof-lock,-idle-task",
            [n for n in NAMES if n not in ("send-eof-lock", "idle-task")],
        ),
        ("shutdown-trigger", ["shutdown-trigger"]),
    ],
)
def test_the_switch_keeps_the_fixes_it_names(switch, applied):
    decisions = plan_fixes(list(catalog().values()), switch=switch, version="0.18.0")
    assert [d.fix.name for d in decisions if d.applies] == applied
    reasons = {d.reason for d in decisions if not d.applies}
    assert reasons <= {f"turned off by {ENV_VAR}={switch}"}


@pytest.mark.parametrize(
    ("switch", "problem"),
    [("send-eof", "unknown fix send-eof"), ("h2-reset,-idle-task", "a mix of names and -names")],
)
def test_a_switch_naming_no_fix_is_a_configuration_error(switch, problem):
    with pytest.raises(HypercornFixesError, match=f"{ENV_VAR}='{switch}' has {problem}. "):
        plan_fixes(list(catalog().values()), switch=switch, version="0.18.0")


@pytest.mark.parametrize(
    ("env", "enabled", "reason"),
    [
        ("0", True, f"turned off by {ENV_VAR}=0"),
        (None, False, "turned off by the caller"),
    ],
)
def test_turning_the_fixes_off_changes_nothing_and_logs_each_once(
    env, enabled, reason, monkeypatch, caplog
):
    if env is None:
        monkeypatch.delenv(ENV_VAR, raising=False)
    else:
        monkeypatch.setenv(ENV_VAR, env)
    before = hypercorn_names()
    caplog.set_level(logging.INFO, "trioapi.server")
    register = FixRegister(lambda: load_fixes(FIX_MODULES))
    assert register.apply(enabled=enabled) == frozenset()
    assert register.apply() == frozenset()  # the first call decided
    assert hypercorn_names() == before
    assert fix_lines(caplog) == [f"Skipped hypercorn fix {name}: {reason}" for name in NAMES]


def test_fixes_are_installed_and_logged_once_per_register(caplog):
    installed: list[str] = []

    def fake(name: str) -> HypercornFix:
        return HypercornFix(
            name, f"changes {name}", ("0.18",), lambda: None, lambda: installed.append(name)
        )

    caplog.set_level(logging.INFO, "trioapi.server")
    register = FixRegister(lambda: [fake("one"), fake("two")])
    assert register.apply() == {"one", "two"}
    assert register.apply(enabled=False) == {"one", "two"}
    assert installed == ["one", "two"]
    assert fix_lines(caplog) == [
        "Applied hypercorn fix one: changes one (hypercorn 0.18.0)",
        "Applied hypercorn fix two: changes two (hypercorn 0.18.0)",
    ]


# -- extensions: a subclass put where hypercorn looks the class up -------------


def test_two_extensions_of_one_class_stack_and_leave_the_original_alone(monkeypatch):
    class Connection:
        def greet(self) -> str:
            return "hello"

    class Louder(Connection):
        def greet(self) -> str:
            return super().greet().upper()

    class Excited(Connection):
        def greet(self) -> str:
            return super().greet() + "!"

    module = types.ModuleType("fake_hypercorn")
    module.Connection = Connection  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fake_hypercorn", module)
    fixes = [
        extension_fix(
            name=extension.__name__,
            changes="",
            releases=("0.18",),
            where="fake_hypercorn:Connection",
            extension=extension,
        )
        for extension in (Louder, Excited)
    ]
    for fix in fixes:
        assert fix.check_shape() is None
        fix.install()
        fix.install()  # a second install finds it in place
    served = module.Connection  # type: ignore[attr-defined]
    assert served.__name__ == "Louder+Excited"
    assert served().greet() == "HELLO!"
    assert Connection().greet() == "hello"
    assert [fix.check_shape() for fix in fixes] == [None, None]


# -- through a hypercorn process -----------------------------------------------

# The app of the shutdown tests, with its log lines on stderr (the server log) and a ping.
LOGGING_APP_SOURCE = (
    "import logging\nlogging.basicConfig(level=logging.INFO)\n"
    + APP_SOURCE
    + "\n\n@app.get('/ping')\nasync def ping():\n    return {'ok': True}\n"
)


async def test_the_switch_turns_every_fix_off_in_a_served_process_with_one_line_each(tmp_path):
    command = hypercorn_command("--workers", "0")
    env = {ENV_VAR: "0"}
    async with open_server(tmp_path, command, env=env, source=LOGGING_APP_SOURCE) as (_, base):
        async with httpx.AsyncClient(base_url=base, timeout=5) as client:
            response = await client.get("/ping")
    assert (response.status_code, response.json()) == (200, {"ok": True})
    log = (tmp_path / "server.log").read_text()
    for name in NAMES:
        assert log.count(f"Skipped hypercorn fix {name}: turned off by {ENV_VAR}=0") == 1, log
    assert "Applied hypercorn fix" not in log


async def test_graceful_shutdown_works_with_the_crash_fix_turned_off(tmp_path):
    env = {ENV_VAR: "-send-eof-lock"}
    seen = await serve_and_stop(
        tmp_path, hypercorn_command(), "SIGTERM", env=env, source=LOGGING_APP_SOURCE
    )
    log = (tmp_path / "server.log").read_text()
    assert seen == EXPECTED, log
    assert log.count(f"Skipped hypercorn fix send-eof-lock: turned off by {ENV_VAR}=") == 1, log
    for name in NAMES:
        if name != "send-eof-lock":
            assert log.count(f"Applied hypercorn fix {name}: ") == 1, log
