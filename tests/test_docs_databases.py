"""docs/guides/databases.md: every Python block is code that runs in a tested file."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "guides" / "databases.md"
SOURCES = [
    ROOT / "examples" / "asyncio_db.py",
    ROOT / "examples" / "sync_db.py",
    ROOT / "tests" / "test_asyncio_bridge.py",
]


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", PAGE.read_text(), flags=re.DOTALL)


@pytest.mark.parametrize("block", python_blocks())
def test_each_python_block_is_quoted_from_a_tested_file(block):
    assert any(block in source.read_text() for source in SOURCES)


def test_the_page_has_its_python_blocks():
    assert len(python_blocks()) == 7


def test_the_error_shown_is_the_one_raised():
    from trioapi.asyncio_bridge import _no_loop_message

    class AioPool:
        async def acquire(self):
            pass

    shown = re.search(r"```\n(run_asyncio\(AioPool.acquire\).*?)```", PAGE.read_text(), re.DOTALL)
    assert shown is not None
    assert " ".join(shown.group(1).split()) == _no_loop_message(AioPool().acquire, closed=False)
