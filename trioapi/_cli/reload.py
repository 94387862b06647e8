"""Notice changed source files, by polling modification times (no extra dependency).

The watcher never imports anything, so a file saved with a syntax error is
just another change: the supervisor starts a worker, the worker fails to
import the app and says why, and the next save is noticed as before.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

# Directories that hold no source of the app, and can be huge (a venv in the project).
_SKIPPED = frozenset({"__pycache__", "node_modules", "site-packages", "venv", "env"})


class FileWatcher:
    """The ``.py`` files under some directories, and whether any changed since the last look.

    Args:
        directories: where to look, recursively; directories whose name
            starts with ``.`` (``.venv``, ``.git``) are skipped.
    """

    def __init__(self, directories: Sequence[str]) -> None:
        self.directories = [Path(directory).resolve() for directory in directories]
        self._seen = self._scan()

    def _scan(self) -> dict[str, float]:
        seen: dict[str, float] = {}
        for directory in self.directories:
            for path in _python_files(str(directory)):
                try:
                    seen[path] = os.stat(path).st_mtime
                except OSError:  # removed while scanning
                    continue
        return seen

    def changed(self) -> list[str]:
        """Files added, removed or modified since the last call (or since construction)."""
        now = self._scan()
        before = self._seen
        self._seen = now
        return sorted(
            path for path in now.keys() | before.keys() if now.get(path) != before.get(path)
        )


def _python_files(directory: str) -> Iterator[str]:
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            if not entry.name.startswith(".") and entry.name not in _SKIPPED:
                yield from _python_files(entry.path)
        elif entry.name.endswith(".py"):
            yield entry.path
