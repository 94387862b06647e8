"""The README's examples, run as written: the app, and its tests under a bare ``pytest``."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def python_blocks() -> dict[str, str]:
    """The README's ```python blocks, by the file name their first line (``# app.py``) gives."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    named = {}
    for block in blocks:
        first, _, rest = block.partition("\n")
        assert first.startswith("# ") and first.endswith(".py"), f"unnamed block: {block[:60]!r}"
        named[first[2:]] = rest
    return named


def test_the_readme_app_and_its_tests_pass_with_no_pytest_configuration(tmp_path: Path):
    blocks = python_blocks()
    assert sorted(blocks) == ["app.py", "test_app.py"]
    for name, source in blocks.items():
        (tmp_path / name).write_text(source)
    # No pytest configuration in tmp_path or above it: the async test runs
    # under Trio through trioapi's pytest plugin alone.
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
