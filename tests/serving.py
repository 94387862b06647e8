"""Start hypercorn's trio worker in-process on a free 127.0.0.1 port, for real-socket tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
from hypercorn.config import Config
from hypercorn.trio import serve

from trioapi.server import call_shutdown_trigger, plan_hypercorn_fixes


def needs_fix(name: str) -> pytest.MarkDecorator:
    """Skip a test that holds only with the server layer's fix ``name``, when it is not applied.

    The reason names the fix and why it is skipped in this run (turned off
    by ``TRIOAPI_HYPERCORN_FIXES``, a hypercorn release it was not checked
    against, another shape), so a run against a new hypercorn says which
    guarantees it kept.
    """
    decision = {d.fix.name: d for d in plan_hypercorn_fixes()}[name]
    return pytest.mark.skipif(
        not decision.applies, reason=f"needs hypercorn fix {name} ({decision.reason})"
    )


@asynccontextmanager
async def run_hypercorn(
    app: Any, *, stop: trio.Event | None = None, **settings: Any
) -> AsyncIterator[str]:
    """Serve ``app`` until the block ends; yields the base URL, e.g. ``http://127.0.0.1:41234``.

    Setting ``stop`` starts the server's shutdown before the block ends,
    through the app's own ``shutdown_trigger`` when it has one (as
    ``hypercorn --worker-class trio`` serves a TrioAPI app).
    """
    config = Config()
    config.bind = ["127.0.0.1:0"]
    config.accesslog = None
    config.errorlog = None
    config.graceful_timeout = 2.0
    for key, value in settings.items():
        setattr(config, key, value)
    shutdown = stop if stop is not None else trio.Event()
    trigger: Callable[[], Awaitable[Any]] = shutdown.wait
    if stop is not None and hasattr(app, "shutdown_trigger"):
        trigger = call_shutdown_trigger(app, trigger, config.graceful_timeout)
    async with trio.open_nursery() as nursery:
        binds = await nursery.start(
            lambda task_status: serve(
                app, config, shutdown_trigger=trigger, task_status=task_status
            )
        )
        try:
            yield binds[0]
        finally:
            shutdown.set()
