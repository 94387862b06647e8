"""Refuse FastAPI's and Starlette's objects inside a trioapi app, naming the trioapi import.

A port that missed one ``from fastapi import Depends`` would otherwise run
and answer wrongly: the ``Depends`` object returned as the value, a
``fastapi.HTTPException`` turned into a 500, a ``fastapi`` response's
attributes sent as JSON. Objects are recognised by their class's module
name, so neither package needs to be installed for the check (nor is
imported by it).
"""

from __future__ import annotations

from typing import Any

from trioapi.exceptions import TrioAPIError

FOREIGN_PACKAGES = ("fastapi", "starlette")


class ForeignObjectError(TrioAPIError):
    """A FastAPI or Starlette object was given to trioapi."""


def foreign_name(value: Any) -> str | None:
    """``"fastapi.params.Depends"`` when ``value`` (a class, or an instance's class) is theirs."""
    cls = value if isinstance(value, type) else type(value)
    module = getattr(cls, "__module__", None) or ""
    if module.partition(".")[0] in FOREIGN_PACKAGES:
        return f"{module}.{cls.__qualname__}"
    return None


def trioapi_import_for(name: str) -> str:
    """The import a port should use instead: ``from trioapi.params import Depends``."""
    module, _, class_name = name.rpartition(".")
    package, _, rest = module.partition(".")
    target = "trioapi" + (f".{rest}" if rest else "")
    if package == "fastapi" and rest in ("params", "param_functions"):
        target = "trioapi"  # Depends, Query, ... are imported from the top as in FastAPI
    return f"from {target} import {class_name}"


def foreign_message(name: str) -> str:
    """What to tell the user about one foreign object: where it came from, and the fix."""
    package = name.partition(".")[0]
    return (
        f"{name}, from the {package} package, which trioapi does not understand. "
        f"Import it from trioapi: `{trioapi_import_for(name)}`."
    )


def check_not_foreign(where: str, *values: Any) -> None:
    """Raise when any of ``values`` is a FastAPI or Starlette object.

    Args:
        where: what the values belong to, e.g. ``"GET /items: parameter 'db' of read()"``.
        values: the objects to look at (defaults, metadata, classes).

    Raises:
        ForeignObjectError: naming ``where``, the object, and the trioapi import to use.
    """
    for value in values:
        if (name := foreign_name(value)) is not None:
            raise ForeignObjectError(f"{where} uses {foreign_message(name)}")


def foreign_hint(error: BaseException) -> str:
    """A hint for the log line of an error raised as a FastAPI/Starlette exception, else ``""``."""
    name = foreign_name(error)
    return f" (hint: the error is {foreign_message(name)})" if name is not None else ""
