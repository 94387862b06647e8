"""Find the app to serve: ``main:app``, ``main.py``, ``app/main.py:api``, or nothing at all.

As ``fastapi dev`` does: with no argument, the first of ``main.py``,
``app.py``, ``api.py``, ``app/main.py``, ``app/app.py``, ``app/api.py`` in
the app directory; a file inside packages (directories with
``__init__.py``) is imported by its dotted name from the top package's
parent. The attribute, when not named, is ``app``, then ``api``, then the
first ``TrioAPI`` (or toolkit ``Starlette``) instance in the module.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trioapi.exceptions import TrioAPIError

CANDIDATE_FILES = ("main.py", "app.py", "api.py", "app/main.py", "app/app.py", "app/api.py")
CANDIDATE_NAMES = ("app", "api")


class AppNotFoundError(TrioAPIError):
    """The command line names no app that can be imported."""


@dataclass(frozen=True)
class AppLocation:
    """Where the app lives: a directory for ``sys.path``, a module, and maybe an attribute."""

    directory: str
    module: str
    attribute: str | None = None

    def describe(self) -> str:
        """``main:app``, or ``main`` while the attribute is still to be found."""
        return f"{self.module}:{self.attribute}" if self.attribute else self.module


def locate_app(target: str | None, app_dir: str = ".", attribute: str | None = None) -> AppLocation:
    """Work out the module and attribute from the command line, without importing anything.

    Raises:
        AppNotFoundError: no argument and none of :data:`CANDIDATE_FILES` exists,
            or the file named does not exist.
    """
    base = Path(app_dir).resolve()
    if target is None:
        for candidate in CANDIDATE_FILES:
            if (base / candidate).is_file():
                return _from_file(base / candidate, attribute)
        raise AppNotFoundError(
            f"No app given and none of {', '.join(CANDIDATE_FILES)} found in {base}. "
            "Name it on the command line, e.g. `trioapi dev main:app` or `trioapi dev src/app.py`."
        )
    path_part, _, name = target.partition(":")
    attribute = name or attribute
    if path_part.endswith(".py") or "/" in path_part:
        path = (base / path_part).resolve()
        if not path.is_file():
            raise AppNotFoundError(
                f"{path_part}: no such file in {base}. Give a path to a .py file."
            )
        return _from_file(path, attribute)
    return AppLocation(str(base), path_part, attribute)


def _from_file(path: Path, attribute: str | None) -> AppLocation:
    parts = [path.stem] if path.name != "__init__.py" else []
    directory = path.parent
    while (directory / "__init__.py").is_file():
        parts.insert(0, directory.name)
        directory = directory.parent
    return AppLocation(str(directory), ".".join(parts), attribute)


def load_app(location: AppLocation, *, factory: bool = False) -> tuple[Any, str]:
    """Import the app (calling it first with ``factory``); returns it and ``module:attribute``.

    Raises:
        AppNotFoundError: the module or the attribute is missing, or no app is in the module.
    """
    if location.directory not in sys.path:
        sys.path.insert(0, location.directory)
    try:
        module = importlib.import_module(location.module)
    except ModuleNotFoundError as exc:
        if exc.name and location.module.startswith(exc.name):
            raise AppNotFoundError(
                f"Could not import module {location.module!r} from {location.directory}. "
                "Run the command from the project's directory, or pass --app-dir."
            ) from None
        raise
    name = location.attribute or _find_attribute(module, location.module)
    try:
        app = getattr(module, name)
    except AttributeError:
        raise AppNotFoundError(
            f"Module {location.module!r} has no attribute {name!r}. "
            f"Name the app as module:attribute, e.g. {location.module}:app."
        ) from None
    if factory:
        app = app()
    return app, f"{location.module}:{name}"


def _find_attribute(module: Any, module_name: str) -> str:
    for candidate in CANDIDATE_NAMES:
        if hasattr(module, candidate):
            return candidate
    import trioapi.applications as applications

    # Starlette: the toolkit-level app class, once applications.py has it.
    kinds = tuple(
        kind
        for kind in (
            getattr(applications, "TrioAPI", None),
            getattr(applications, "Starlette", None),
        )
        if isinstance(kind, type)
    )
    for name, value in vars(module).items():
        if isinstance(value, kinds):
            return str(name)
    raise AppNotFoundError(
        f"No app found in module {module_name!r}: no 'app' or 'api', and no TrioAPI instance. "
        f"Name it as {module_name}:NAME."
    )
