"""The documentation site: it builds strictly, and its code is tested code.

Every code block on a page is a ``--8<--`` include of a file under docs_src/
or examples/, and every docs_src/ module is imported by a test.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
DOCS_SRC = ROOT / "docs_src"
TESTS = ROOT / "tests"

# guides/databases.md quotes excerpts of examples/ files, and
# tests/test_docs_databases.py checks each excerpt against its file.
# The bug report is addressed to hypercorn's maintainers and must stay
# self-contained (its reproduction is pasted upstream as it is).
INLINE_CODE_ALLOWED = {
    "guides/databases.md",
    "hypercorn-bug-report.md",
}
FENCE = re.compile(
    r"^(?P<indent> *)```(?P<lang>[\w+-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```", re.M | re.S
)
INCLUDE = re.compile(r'^\s*--8<-- "(?P<path>[^"]+)"\s*$')
# Languages that are code, not a transcript of a terminal or an output.
CODE_LANGUAGES = {"python", "py", "toml", "yaml", "dockerfile", "ini", "json", "nginx"}


def pages() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def test_the_site_builds_strictly(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "WARNING" not in result.stderr
    home = (tmp_path / "index.html").read_text()
    assert "scope-tree.svg" in home
    assert "async def read_item" in re.sub(r"<[^>]+>", "", home)  # the include landed
    cli = (tmp_path / "reference" / "cli" / "index.html").read_text()
    assert "--graceful-timeout" in cli  # the hook wrote the CLI's --help
    app_reference = (tmp_path / "reference" / "trioapi" / "index.html").read_text()
    assert "max_body_size" in app_reference  # mkdocstrings read TrioAPI's docstring


@pytest.mark.parametrize("page", pages(), ids=lambda page: str(page.relative_to(DOCS)))
def test_every_code_block_is_an_included_file(page):
    if str(page.relative_to(DOCS)) in INLINE_CODE_ALLOWED:
        pytest.skip("kept as it is; linked from the site")
    inline = []
    for block in FENCE.finditer(page.read_text()):
        lines = [line for line in block["body"].splitlines() if line.strip()]
        if block["lang"].lower() in CODE_LANGUAGES and not all(
            INCLUDE.match(line) for line in lines
        ):
            inline.append(lines[0] if lines else "(empty block)")
    assert inline == [], f"{page.name}: put these blocks in docs_src/ and include them"


def included_files() -> set[str]:
    found: set[str] = set()
    for page in pages():
        for line in page.read_text().splitlines():
            if match := INCLUDE.match(line):
                found.add(match["path"].split(":")[0])
    return found


def docs_src_files() -> list[str]:
    return sorted(
        str(path.relative_to(ROOT))
        for path in DOCS_SRC.rglob("*")
        if path.is_file() and path.name != "__init__.py" and "__pycache__" not in path.parts
    )


def test_every_docs_src_file_is_on_a_page():
    assert sorted(set(docs_src_files()) - included_files()) == []


def imports_of(path: Path, package: str) -> set[str]:
    """The modules ``path`` imports (``from package import module`` counts the module)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = (
                package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            )
            module = ".".join([*base, node.module] if node.module else base)
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def modules_run_by_tests() -> set[str]:
    """Modules a test imports, and the docs_src modules those import in turn."""
    reached: set[str] = set()
    for path in TESTS.rglob("test_*.py"):
        reached |= imports_of(path, "tests")
    pending = [name for name in reached if name.startswith("docs_src.")]
    while pending:
        path = ROOT.joinpath(*pending.pop().split(".")).with_suffix(".py")
        if path.is_file():
            package = ".".join(path.relative_to(ROOT).parent.parts)
            new = imports_of(path, package) - reached
            reached |= new
            pending.extend(name for name in new if name.startswith("docs_src."))
    return reached


def test_every_docs_src_module_is_used_by_a_test():
    imported = modules_run_by_tests()
    tests = "\n".join(path.read_text() for path in TESTS.rglob("test_*.py"))
    untested = []
    for name in docs_src_files():
        path = Path(name)
        dotted = ".".join(path.with_suffix("").parts)
        # A module is imported by a test; another file (a config, a script run
        # as a program) is named by its path in one.
        if dotted not in imported and name not in tests:
            untested.append(name)
    assert untested == []
