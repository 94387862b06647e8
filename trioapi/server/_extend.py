"""Most fixes are a subclass of one hypercorn class, put where hypercorn looks that class up.

Hypercorn has no hook to choose its connection or protocol classes: its trio
worker builds each connection with the ``TCPServer`` it finds in
``hypercorn.trio.run`` when it starts serving, and each connection picks
``H11Protocol`` or ``H2Protocol`` from ``hypercorn.protocol``. So a fix
subclasses the class (an *extension*, which overrides a few methods and calls
``super()``) and rebinds that one name to it. Hypercorn's own class is never
changed, and two fixes on one class stack: the second subclasses the first.

:func:`extension_fix` builds the :class:`~trioapi.server._registry.HypercornFix`
for one extension, with the shape check every extension needs: the name
still holds hypercorn's class, and each method the extension overrides is
still there, taking the same parameters. An extension's own helpers and
attributes are named ``_trioapi_*``, apart from hypercorn's.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Sequence
from typing import Any

from trioapi.server._registry import HypercornFix

__all__ = ["extension_fix", "init_sets", "overridden_methods"]


def extension_fix(
    *,
    name: str,
    changes: str,
    releases: tuple[str, ...],
    where: str,
    extension: type,
    needs: Sequence[str] = (),
    also_check: Callable[[], str | None] | None = None,
) -> HypercornFix:
    """A fix that puts ``extension`` (a subclass of hypercorn's class) at ``where``.

    Args:
        name: The fix's name.
        changes: What it changes, for the log line.
        releases: The hypercorn releases it was checked against.
        where: ``"module:Name"``, where hypercorn looks the class up.
        extension: The subclass; its first base is hypercorn's class.
        needs: Other attributes of the class the extension relies on.
        also_check: A further shape check (of other hypercorn names it uses).
    """
    module_name, _, attribute = where.partition(":")
    base = extension.__bases__[0]

    def current() -> Any:
        return getattr(importlib.import_module(module_name), attribute, None)

    def check_shape() -> str | None:
        found = current()
        if not isinstance(found, type) or not issubclass(found, base):
            return f"{where} is not hypercorn's {base.__qualname__} any more"
        # Checked on hypercorn's class: ``found`` may hold the fix already.
        for method in (*overridden_methods(extension), *needs):
            if not hasattr(base, method):
                return f"{base.__qualname__} has no {method}"
        for method in overridden_methods(extension):
            ours, theirs = getattr(extension, method), getattr(base, method)
            problem = _compare_parameters(base.__qualname__, method, theirs, ours)
            if problem is not None:
                return problem
        return also_check() if also_check is not None else None

    def install() -> None:
        found = current()
        if issubclass(found, extension):
            return  # already in place
        if found is not base:
            # Another fix extended the class already: stack on top of it.
            stacked = f"{found.__name__}+{extension.__name__}"
            extended = type(stacked, (extension, found), {"__module__": extension.__module__})
        else:
            extended = extension
        setattr(importlib.import_module(module_name), attribute, extended)

    return HypercornFix(name, changes, releases, check_shape, install)


def overridden_methods(extension: type) -> list[str]:
    """The hypercorn methods ``extension`` overrides (``__init__`` included).

    Every function it defines, except its own helpers, whose names start
    with ``_trioapi_`` (so a method hypercorn dropped is not taken for one).
    """
    return [
        key
        for key, value in vars(extension).items()
        if inspect.isfunction(value) and not key.startswith("_trioapi_")
    ]


def _compare_parameters(owner: str, method: str, theirs: Any, ours: Any) -> str | None:
    """Why ``ours`` cannot stand in for ``theirs``: other parameter names; ``None`` if it can."""
    our_parameters = list(inspect.signature(ours).parameters.values())
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in our_parameters):
        return None  # passes whatever it is given on to super()
    try:
        their_names = list(inspect.signature(theirs).parameters)
    except (TypeError, ValueError):
        return f"{owner}.{method} has no signature to check"
    our_names = [p.name for p in our_parameters]
    if their_names != our_names:
        return f"{owner}.{method} takes ({', '.join(their_names)}), not ({', '.join(our_names)})"
    return None


def init_sets(cls: type, *attributes: str) -> str | None:
    """Why ``cls.__init__`` does not look like it sets ``attributes`` (``None`` if it does).

    Instance attributes cannot be seen on the class; the names its
    ``__init__`` stores are in its code object.
    """
    code = getattr(getattr(cls, "__init__", None), "__code__", None)
    names = set(getattr(code, "co_names", ()))
    missing = [name for name in attributes if name not in names]
    if missing:
        return f"{cls.__qualname__}.__init__ does not set {', '.join(missing)}"
    return None
