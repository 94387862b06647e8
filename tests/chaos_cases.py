"""Which chaos runs exist, which are known to fail and why, and the few dozen ``make test`` runs.

Every (transport, kind, checkpoint) that makes sense is a case
(:func:`all_cases`); ``bench/chaos.py`` runs them all, many times.
:data:`SELECTED` is the bounded set the test runs: every checkpoint once per
kind, the transports taken in turn.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.chaos_app import HTTP_CHECKPOINTS, WEBSOCKET_CHECKPOINTS
from tests.chaos_runner import IN_PROCESS, KINDS, SERVED, Report, phase_of


def applies(transport: str, kind: str, target: str) -> bool:
    """Whether this run means something.

    A deadline does not apply to a WebSocket; the test clients have no
    server to shut down gracefully; the blocking ``TestClient`` cannot leave
    before the response head (its call blocks until then) nor be cancelled,
    and once its body is in it has nothing left to leave.
    """
    if target.startswith("ws."):
        kinds = (
            ("disconnect", "shutdown", "cancel") if transport == "ws" else ("disconnect", "cancel")
        )
        return transport in ("ws", "async_client") and kind in kinds
    if transport == "ws":
        return False
    if transport == "async_client":
        return kind != "shutdown"
    if transport == "sync_client":
        return kind == "deadline" or (kind == "disconnect" and phase_of(target) == "during")
    return True


def known_failure(transport: str, kind: str, target: str) -> str | None:
    """Why this run fails today, or ``None``. Each reason names the bug.

    A bug found next gets its rule here (strict xfail in ``make test``,
    counted apart by ``bench/chaos.py``).
    """
    del transport, kind, target  # no known failure left
    return None


def known_timed_failure(report: Report) -> str | None:
    """Why a timing run failed, when the cancellation landed on a known bug, or ``None``."""
    if report.delay is None:
        return known_failure(report.transport, report.kind, report.target)
    return None


def all_cases() -> list[tuple[str, str, str]]:
    """Every run that applies."""
    return [
        (transport, kind, target)
        for transport in SERVED + IN_PROCESS
        for kind in KINDS
        for target in HTTP_CHECKPOINTS + WEBSOCKET_CHECKPOINTS
        if applies(transport, kind, target)
    ]


def _select() -> list[tuple[str, str, str]]:
    """Every checkpoint twice: its first kind, and one of the others in turn.

    The transports that apply are taken in turn too, so the few dozen runs
    cover every checkpoint, kind and transport.
    """
    chosen: list[tuple[str, str, str]] = []
    turn = 0
    for number, target in enumerate(HTTP_CHECKPOINTS + WEBSOCKET_CHECKPOINTS):
        kinds = [k for k in KINDS if any(applies(t, k, target) for t in SERVED + IN_PROCESS)]
        for kind in (kinds[0], kinds[1 + number % (len(kinds) - 1)]):
            options = [t for t in SERVED + IN_PROCESS if applies(t, kind, target)]
            # A known failure waits for its bound (seconds): here only the
            # issue's own repro runs; the bench runs all of them.
            fine = [t for t in options if known_failure(t, kind, target) is None]
            if fine:
                chosen.append((fine[turn % len(fine)], kind, target))
                turn += 1
    chosen.append(("h11", "deadline", "endpoint.sync"))  # the issue's own repro
    chosen.append(("ws", "shutdown", "ws.accept"))  # a socket accepted after shutdown began
    return chosen


SELECTED = _select()


def case_param(transport: str, kind: str, target: str) -> Any:
    """A pytest parameter for one run, marked xfail (strict) when it is a known failure."""
    reason = known_failure(transport, kind, target)
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(transport, kind, target, id=f"{transport}-{kind}-{target}", marks=marks)
