"""Starlette 1.10's public names, module by module, are importable from trioapi.

The list (tests/fixtures/starlette_public_names.json) was generated once from
Starlette 1.10 in a throwaway venv by generate_starlette_public_names.py;
``starlette.X`` is ``trioapi.X`` and ``StarletteX`` is ``TrioAPIX``.
"""

from __future__ import annotations

import importlib
import json
import warnings
from pathlib import Path

import pytest

FIXTURE = Path(__file__).parent / "fixtures" / "starlette_public_names.json"
MODULES: dict[str, list[str]] = json.loads(FIXTURE.read_text())["modules"]

# Names trioapi does not offer, each with its reason. A name that appears
# later must leave this list (the test below says so).
NOT_OFFERED: dict[str, str] = {
    "trioapi.formparsers.MultipartPart": "Starlette's parser state record; trioapi's parser keeps its own",
    "trioapi.middleware.wsgi.WSGIResponder": "the deprecated WSGI bridge runs apps through its own private responder",
    "trioapi.middleware.errors.CENTER_LINE": "pieces of Starlette's debug-page HTML; trioapi renders its own page",
    "trioapi.middleware.errors.FRAME_TEMPLATE": "pieces of Starlette's debug-page HTML",
    "trioapi.middleware.errors.JS": "pieces of Starlette's debug-page HTML",
    "trioapi.middleware.errors.LINE": "pieces of Starlette's debug-page HTML",
    "trioapi.middleware.errors.STYLES": "pieces of Starlette's debug-page HTML",
    "trioapi.middleware.errors.TEMPLATE": "pieces of Starlette's debug-page HTML",
}


def trioapi_names(module: str) -> list[tuple[str, str]]:
    target = module.replace("starlette", "trioapi", 1)
    return [(target, name.replace("Starlette", "TrioAPI")) for name in MODULES[module]]


@pytest.mark.parametrize("module", sorted(MODULES))
def test_starlette_public_names_are_offered(module: str) -> None:
    missing = []
    for target, name in trioapi_names(module):
        if f"{target}.{name}" in NOT_OFFERED:
            continue
        try:
            imported = importlib.import_module(target)
        except ModuleNotFoundError:
            missing.append(f"{target} (module)")
            break
        with warnings.catch_warnings():
            # Deprecated names (status.HTTP_413_REQUEST_ENTITY_TOO_LARGE) warn on access.
            warnings.simplefilter("ignore")
            if not hasattr(imported, name):
                missing.append(f"{target}.{name}")
    assert missing == []


def test_not_offered_list_holds_only_names_that_are_missing() -> None:
    offered = []
    for dotted in NOT_OFFERED:
        target, _, name = dotted.rpartition(".")
        try:
            module = importlib.import_module(target)
        except ModuleNotFoundError:
            continue
        if hasattr(module, name):
            offered.append(dotted)
    assert offered == []
