"""The register of hypercorn fixes: which apply in this process, applied once, each logged.

A fix (:class:`HypercornFix`) names what it changes, the hypercorn releases it
was checked against, a shape check and one install function. Whether it
applies is decided once per process (:func:`apply_hypercorn_fixes`), in this
order: turned off (``TRIOAPI_HYPERCORN_FIXES`` or the caller), a hypercorn
release it was not checked against, a shape that is not the one it was
written for. Each fix then logs one INFO line on ``trioapi.server``, applied
or skipped with the reason. A fix is installed whole or not at all: every
check runs before its install, which rebinds one name.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from trioapi.exceptions import TrioAPIError

__all__ = [
    "ENV_VAR",
    "FixDecision",
    "FixRegister",
    "HypercornFix",
    "HypercornFixesError",
    "hypercorn_version",
    "load_fixes",
    "plan_fixes",
]

ENV_VAR = "TRIOAPI_HYPERCORN_FIXES"
"""``0`` turns every fix off; ``-name,-name`` turns those off; ``name,name`` keeps only those."""

_OFF = frozenset({"0", "off", "false", "no"})
_ON = frozenset({"", "1", "on", "true", "yes"})

logger = logging.getLogger("trioapi.server")


class HypercornFixesError(TrioAPIError):
    """``TRIOAPI_HYPERCORN_FIXES`` names a fix that does not exist."""


@dataclass(frozen=True)
class HypercornFix:
    """One change to hypercorn's behaviour.

    Attributes:
        name: Its short name, in log lines and in ``TRIOAPI_HYPERCORN_FIXES``.
        changes: What it changes, for the log line ("TCPServer._close ...").
        releases: The hypercorn releases it was checked against, as
            ``major.minor`` prefixes (``"0.18"`` covers ``0.18.0``, ``0.18.1``).
        check_shape: Why hypercorn does not look as the fix expects, or
            ``None`` when it does. Changes nothing.
        install: Makes the change. Called at most once, after ``check_shape``.
        unloadable: Why its module could not be imported (``""``: it was).
    """

    name: str
    changes: str
    releases: tuple[str, ...]
    check_shape: Callable[[], str | None]
    install: Callable[[], None]
    unloadable: str = ""

    def supports(self, version: str | None) -> bool:
        """Whether ``version`` is one of :attr:`releases`."""
        if version is None:
            return False
        return any(
            version == release or version.startswith(release + ".") for release in self.releases
        )


@dataclass(frozen=True)
class FixDecision:
    """Whether one fix applies in this process, and if not, why."""

    fix: HypercornFix
    applies: bool
    reason: str = ""


def hypercorn_version() -> str | None:
    """The installed hypercorn release, or ``None`` when it is not installed."""
    try:
        return importlib.metadata.version("hypercorn")
    except importlib.metadata.PackageNotFoundError:
        return None


def load_fixes(modules: Mapping[str, str]) -> list[HypercornFix]:
    """The fixes ``{name: module}`` declare, each module's ``FIX``.

    A module that cannot be imported (it subclasses a hypercorn class that
    moved) stands as a fix that its shape check skips, so it is still logged.
    """
    fixes: list[HypercornFix] = []
    for name, module_name in modules.items():
        try:
            fix: HypercornFix = importlib.import_module(module_name).FIX
        except (ImportError, AttributeError) as error:
            fixes.append(_unloadable(name, f"its module does not import ({error})"))
        else:
            fixes.append(fix)
    return fixes


def _unloadable(name: str, reason: str) -> HypercornFix:
    def install() -> None:  # pragma: no cover - never called: plan_fixes refuses it
        raise AssertionError(reason)

    return HypercornFix(name, "(not loaded)", (), lambda: reason, install, unloadable=reason)


def plan_fixes(
    fixes: Sequence[HypercornFix],
    *,
    enabled: bool = True,
    switch: str | None = None,
    version: str | None = None,
) -> list[FixDecision]:
    """Which of ``fixes`` apply: the decision :func:`FixRegister.apply` acts on. Changes nothing.

    Args:
        fixes: The fixes, in the order they are applied.
        enabled: ``False`` turns them all off (``trioapi run --no-hypercorn-fixes``).
        switch: The value of ``TRIOAPI_HYPERCORN_FIXES`` (``None``: unset).
        version: The hypercorn release (``None``: not installed).

    Raises:
        HypercornFixesError: ``switch`` names a fix that is not one of ``fixes``.
    """
    wanted = _parse_switch(switch, [fix.name for fix in fixes])
    decisions: list[FixDecision] = []
    for fix in fixes:
        if not enabled:
            decisions.append(FixDecision(fix, False, "turned off by the caller"))
        elif fix.name not in wanted:
            decisions.append(FixDecision(fix, False, f"turned off by {ENV_VAR}={switch}"))
        elif fix.unloadable:
            decisions.append(FixDecision(fix, False, fix.unloadable))
        elif not fix.supports(version):
            checked = ", ".join(fix.releases) or "none"
            decisions.append(
                FixDecision(
                    fix,
                    False,
                    f"hypercorn {version} is not a release it was checked against ({checked})",
                )
            )
        elif (shape := fix.check_shape()) is not None:
            decisions.append(FixDecision(fix, False, shape))
        else:
            decisions.append(FixDecision(fix, True))
    return decisions


def _parse_switch(switch: str | None, names: Sequence[str]) -> set[str]:
    value = (switch or "").strip().lower()
    if value in _ON:
        return set(names)
    if value in _OFF:
        return set()
    items = [item.strip() for item in value.split(",") if item.strip()]
    unknown = sorted({item.lstrip("-") for item in items} - set(names))
    negated = {item.startswith("-") for item in items}
    if unknown or len(negated) > 1:
        problem = f"unknown fix {', '.join(unknown)}" if unknown else "a mix of names and -names"
        raise HypercornFixesError(
            f"{ENV_VAR}={switch!r} has {problem}. The fixes are: {', '.join(names)}. "
            f"Use 0 (none), 1 (all), name,name (only these) or -name,-name (all but these)."
        )
    if negated == {True}:
        return set(names) - {item[1:] for item in items}
    return set(items)


class FixRegister:
    """The fixes of one process, applied at most once (the first call decides)."""

    def __init__(self, load: Callable[[], Sequence[HypercornFix]]) -> None:
        self._load = load
        self._lock = threading.Lock()
        self.decisions: list[FixDecision] | None = None

    def plan(self, *, enabled: bool = True) -> list[FixDecision]:
        """What :meth:`apply` would decide now (or decided), without changing anything."""
        if self.decisions is not None:
            return self.decisions
        return plan_fixes(
            self._load(),
            enabled=enabled,
            switch=os.environ.get(ENV_VAR),
            version=hypercorn_version(),
        )

    def apply(self, *, enabled: bool = True) -> frozenset[str]:
        """Decide, install and log each fix, the first time; later calls change nothing.

        Returns:
            The names of the fixes in place.
        """
        with self._lock:
            if self.decisions is None:
                decisions = self.plan(enabled=enabled)
                version = hypercorn_version()
                for decision in decisions:
                    fix = decision.fix
                    if decision.applies:
                        fix.install()
                        logger.info(
                            "Applied hypercorn fix %s: %s (hypercorn %s)",
                            fix.name,
                            fix.changes,
                            version,
                        )
                    else:
                        logger.info("Skipped hypercorn fix %s: %s", fix.name, decision.reason)
                self.decisions = decisions
            return self.applied()

    def applied(self) -> frozenset[str]:
        """The names of the fixes in place (none before :meth:`apply`)."""
        return frozenset(d.fix.name for d in self.decisions or () if d.applies)
