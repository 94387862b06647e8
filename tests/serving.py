"""Start hypercorn's trio worker in-process on a free 127.0.0.1 port, for real-socket tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import trio
from hypercorn.config import Config
from hypercorn.trio import serve


@asynccontextmanager
async def run_hypercorn(app: Any, **settings: Any) -> AsyncIterator[str]:
    """Serve ``app`` until the block ends; yields the base URL, e.g. ``http://127.0.0.1:41234``."""
    config = Config()
    config.bind = ["127.0.0.1:0"]
    config.accesslog = None
    config.errorlog = None
    config.graceful_timeout = 2.0
    for key, value in settings.items():
        setattr(config, key, value)
    shutdown = trio.Event()
    async with trio.open_nursery() as nursery:
        binds = await nursery.start(
            lambda task_status: serve(
                app, config, shutdown_trigger=shutdown.wait, task_status=task_status
            )
        )
        try:
            yield binds[0]
        finally:
            shutdown.set()
