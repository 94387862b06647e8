"""A process hypercorn's trio worker serves collects its young objects less often (trioapi._collector)."""

from __future__ import annotations

import gc
import logging
import sys
import types

import httpx
import pytest
from hypercorn.utils import LifespanFailureError

from tests.serving import run_hypercorn
from trioapi import TrioAPI, _collector
from trioapi._collector import (
    ENV_VAR,
    SERVED_THRESHOLD,
    GCThresholdError,
    raise_gc_threshold,
    raise_gc_threshold_if_served,
)

PYTHON_DEFAULTS = (700, 10, 10)


@pytest.fixture(autouse=True)
def fresh_process(monkeypatch):
    """Each test sees a process that has not decided yet, with Python's thresholds."""
    thresholds, enabled = gc.get_threshold(), gc.isenabled()
    monkeypatch.setattr(_collector, "_decided", False)
    monkeypatch.delenv(ENV_VAR, raising=False)
    gc.set_threshold(*PYTHON_DEFAULTS)
    yield
    gc.set_threshold(*thresholds)
    if enabled:
        gc.enable()


@pytest.fixture
def served(monkeypatch):
    """The process has imported hypercorn's trio worker."""
    worker = sys.modules.get("hypercorn.trio.run") or types.ModuleType("hypercorn.trio.run")
    monkeypatch.setitem(sys.modules, "hypercorn.trio.run", worker)


def test_a_served_process_raises_the_first_threshold_once_and_says_so(served, caplog):
    caplog.set_level(logging.INFO, logger="trioapi.server")
    assert raise_gc_threshold_if_served() == SERVED_THRESHOLD == 10_000
    assert gc.get_threshold() == (10_000, 10, 10)
    assert caplog.messages == [
        "Raised the garbage collector's first threshold from 700 to 10000, for requests "
        "in flight (TRIOAPI_GC_THRESHOLD=0 keeps Python's)"
    ]
    gc.set_threshold(*PYTHON_DEFAULTS)
    assert raise_gc_threshold_if_served() is None  # decided once per process
    assert gc.get_threshold() == PYTHON_DEFAULTS


def test_a_process_that_does_not_serve_with_hypercorn_is_left_alone(monkeypatch):
    monkeypatch.delitem(sys.modules, "hypercorn.trio.run", raising=False)
    assert raise_gc_threshold_if_served() is None
    assert gc.get_threshold() == PYTHON_DEFAULTS
    assert _collector._decided is False  # it can still decide once it serves


@pytest.mark.parametrize(
    ("set_up", "reason"),
    [
        (lambda: gc.set_threshold(5000, 20, 20), "(5000, 20, 20): set by the program"),
        (gc.disable, "(700, 10, 10): the collector is disabled"),
    ],
)
def test_the_programs_own_collector_settings_are_kept(served, caplog, set_up, reason):
    caplog.set_level(logging.INFO, logger="trioapi.server")
    set_up()
    before = gc.get_threshold()
    assert raise_gc_threshold_if_served() is None
    assert gc.get_threshold() == before
    assert caplog.messages == [f"Kept the garbage collector's thresholds {reason}"]


def test_the_environment_variable_keeps_pythons_or_sets_another(monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger="trioapi.server")
    monkeypatch.setenv(ENV_VAR, "0")
    assert raise_gc_threshold() is None
    assert gc.get_threshold() == PYTHON_DEFAULTS
    assert caplog.messages == [
        "Kept the garbage collector's thresholds (700, 10, 10): TRIOAPI_GC_THRESHOLD=0"
    ]
    monkeypatch.setattr(_collector, "_decided", False)
    monkeypatch.setenv(ENV_VAR, " 2500 ")
    assert raise_gc_threshold() == 2500
    assert gc.get_threshold() == (2500, 10, 10)


@pytest.mark.parametrize("value", ["lots", "-1", "1e4"])
def test_a_value_that_is_not_a_whole_number_says_what_to_set(monkeypatch, value):
    monkeypatch.setenv(ENV_VAR, value)
    with pytest.raises(GCThresholdError) as caught:
        raise_gc_threshold()
    assert str(caught.value) == (
        f"TRIOAPI_GC_THRESHOLD={value!r} is not a whole number: set it to 0 to keep Python's "
        "garbage collector thresholds, or to the first threshold to use (default 10000)."
    )
    assert gc.get_threshold() == PYTHON_DEFAULTS


async def test_the_lifespan_under_hypercorn_raises_it_before_the_first_request():
    app = TrioAPI()
    seen = []

    @app.get("/")
    async def root() -> dict[str, int]:
        seen.append(gc.get_threshold())
        return {"ok": 1}

    async with run_hypercorn(app) as url, httpx.AsyncClient(base_url=url) as client:
        response = await client.get("/")
    assert (response.status_code, response.json()) == (200, {"ok": 1})
    assert seen == [(10_000, 10, 10)]


async def test_a_bad_value_fails_the_startup_under_hypercorn(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "lots")
    with pytest.raises(BaseExceptionGroup) as caught:
        async with run_hypercorn(TrioAPI()):
            pass
    assert caught.group_contains(
        LifespanFailureError,
        match="GCThresholdError: TRIOAPI_GC_THRESHOLD='lots' is not a whole number",
    )
    assert gc.get_threshold() == PYTHON_DEFAULTS
