"""trioapi's pytest plugin: ``async def`` tests run under Trio with no configuration.

Installed with trioapi (the ``pytest11`` entry point) and active only when
pytest-trio is installed too. It marks each coroutine test that has no
``trio``, ``anyio`` or ``asyncio`` mark with ``pytest.mark.trio``, which is
what pytest-trio's ``trio_mode = true`` does; async fixtures of those tests
then run on the test's Trio loop. It stands aside when ``trio_mode`` is
already on, when pytest-asyncio runs in ``auto`` mode (it claims every
coroutine test), or when the ini option ``trioapi_trio_mode = false``.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the ``trioapi_trio_mode`` ini option (default on)."""
    parser.addini(
        "trioapi_trio_mode",
        "run unmarked async def tests with pytest-trio (trioapi's plugin)",
        type="bool",
        default=True,
    )


def _wanted(config: pytest.Config) -> bool:
    if not config.pluginmanager.hasplugin("trio") or not config.getini("trioapi_trio_mode"):
        return False
    if config.getini("trio_mode"):
        return False  # pytest-trio marks them itself
    try:
        asyncio_mode = config.getini("asyncio_mode")
    except ValueError:  # pytest-asyncio is not installed
        asyncio_mode = None
    return bool(asyncio_mode != "auto")


def _test_function(item: pytest.Item) -> Any:
    function = getattr(item, "obj", None)
    hypothesis = getattr(function, "hypothesis", None)
    return hypothesis.inner_test if hypothesis is not None else function


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark unmarked coroutine tests for pytest-trio."""
    if not _wanted(config):
        return
    for item in items:
        if not inspect.iscoroutinefunction(_test_function(item)):
            continue
        if any(item.get_closest_marker(name) for name in ("trio", "anyio", "asyncio")):
            continue
        item.add_marker(pytest.mark.trio)
