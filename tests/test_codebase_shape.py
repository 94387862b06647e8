"""House rules held by tests: module size, function size, no AsyncExitStack.

The import rules (layers, no cycles) are in test_house_rules.py.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "trioapi"
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80


def python_files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_no_module_is_over_the_hard_cap():
    too_long = {
        str(path.relative_to(PACKAGE)): length
        for path in python_files()
        if (length := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert too_long == {}


def test_no_function_is_over_the_hard_cap():
    too_long = {}
    for path in python_files():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                # The body only: FastAPI-compatible signatures are long by contract.
                length = (node.end_lineno or node.lineno) - node.body[0].lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long[f"{path.relative_to(PACKAGE)}:{node.name}"] = length
    assert too_long == {}


def test_no_async_exit_stack_on_the_request_path():
    users = [
        str(path.relative_to(PACKAGE))
        for path in python_files()
        if "AsyncExitStack" in path.read_text() and "_testing" not in path.parts
    ]
    assert users == []
