"""Packaging: license, metadata, optional extras that say how to install them."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_the_license_file_is_mit_and_shipped():
    assert (ROOT / "LICENSE").read_text().startswith("MIT License\n")
    assert (PROJECT["license"], PROJECT["license-files"]) == ("MIT", ["LICENSE"])


def test_metadata_has_classifiers_urls_and_the_pytest_plugin():
    assert "Framework :: Trio" in PROJECT["classifiers"]
    assert "Typing :: Typed" in PROJECT["classifiers"]
    assert {"Homepage", "Documentation", "Source", "Issues"} <= set(PROJECT["urls"])
    assert PROJECT["entry-points"]["pytest11"] == {"trioapi": "trioapi.pytest_plugin"}


def test_forms_and_test_tools_are_extras_not_requirements():
    required = " ".join(PROJECT["dependencies"])
    assert "python-multipart" not in required and "httpx" not in required
    extras = PROJECT["optional-dependencies"]
    assert extras["forms"] == ["python-multipart>=0.0.18"]
    assert extras["testing"] == ["httpx>=0.27", "pytest-trio>=0.8"]


WITHOUT_HTTPX = """
import sys
sys.modules["httpx"] = None  # as if it were not installed
for module in ("trioapi.testclient", "trioapi.testing"):
    try:
        __import__(module)
    except ImportError as exc:
        print(exc)
"""


def test_the_test_clients_without_httpx_say_how_to_install_it():
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_HTTPX],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    expected = (
        "trioapi.testclient and trioapi.testing need httpx, which is not installed. "
        "Install it with: pip install 'trioapi[testclient]' (or pip install httpx)."
    )
    assert result.stdout.splitlines() == [expected, expected], result.stderr


WITH_HTTPX2 = """
import sys, types
import httpx
httpx2 = types.ModuleType("httpx2")  # stands in for httpx2: the same API under its own name
httpx2.__dict__.update({k: v for k, v in vars(httpx).items() if not k.startswith("__")})
sys.modules["httpx2"] = httpx2
from trioapi.testclient import TestClient
from trioapi.responses import PlainTextResponse
import trioapi._testing.transport as transport
client = TestClient(PlainTextResponse("hi"))
print(transport.httpx is httpx2, client.get("/").text)
"""


def test_the_test_clients_use_httpx2_when_it_is_installed():
    result = subprocess.run(
        [sys.executable, "-c", WITH_HTTPX2], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.stdout.splitlines() == ["True hi"], result.stderr


class FakeItem:
    def __init__(self, obj, *marks: str) -> None:
        self.obj = obj
        self.marks = list(marks)

    def get_closest_marker(self, name):
        return name if name in self.marks else None

    def add_marker(self, marker) -> None:
        self.marks.append(marker.name)


class FakeConfig:
    def __init__(self, has_trio: bool = True, **ini) -> None:
        self.ini = {"trioapi_trio_mode": True, "trio_mode": False, **ini}
        self.pluginmanager = type("PM", (), {"hasplugin": lambda _, name: has_trio})()

    def getini(self, name):
        if name not in self.ini:
            raise ValueError(name)
        return self.ini[name]


async def async_test():
    pass


def sync_test():
    pass


def marks_after(config: FakeConfig) -> list[list[str]]:
    from trioapi.pytest_plugin import pytest_collection_modifyitems

    items = [FakeItem(async_test), FakeItem(async_test, "anyio"), FakeItem(sync_test)]
    pytest_collection_modifyitems(config, items)
    return [item.marks for item in items]


def test_the_pytest_plugin_marks_unmarked_async_tests_for_pytest_trio():
    assert marks_after(FakeConfig()) == [["trio"], ["anyio"], []]


def test_the_pytest_plugin_stands_aside_when_told_or_when_another_plugin_claims_the_tests():
    untouched = [[], ["anyio"], []]
    assert marks_after(FakeConfig(trioapi_trio_mode=False)) == untouched
    assert marks_after(FakeConfig(asyncio_mode="auto")) == untouched
    assert marks_after(FakeConfig(trio_mode=True)) == untouched
    assert marks_after(FakeConfig(has_trio=False)) == untouched
