"""One worker process of ``trioapi run``/``dev``: load the app, wrap it, serve it with hypercorn.

:func:`run_worker` is the target of every spawned worker (and what
``--workers 0`` runs in the command's own process). It configures logging
in the fresh process, applies trioapi's hypercorn fixes (``trioapi.server``), imports the app,
puts :class:`~trioapi.middleware.proxy_headers.ProxyHeadersMiddleware` and
:class:`~trioapi._cli.served.ServedApp` in front of it, and serves it with
hypercorn's trio ``worker_serve`` on the sockets the supervisor opened.
"""

from __future__ import annotations

import logging
import os
from functools import partial
from multiprocessing.synchronize import Event
from typing import Any

import trio
from hypercorn.config import Config, Sockets

from trioapi._cli.discovery import load_app
from trioapi._cli.logs import configure_logging
from trioapi._cli.options import ServeOptions
from trioapi._cli.served import ServedApp
from trioapi.server import apply_hypercorn_fixes

logger = logging.getLogger("trioapi.server")

STOP_POLL_INTERVAL = 0.1
"""Seconds between two looks at the supervisor's stop event (a multiprocessing Event)."""


def run_worker(
    config: Config,
    options: ServeOptions,
    sockets: Sockets | None = None,
    stop: Event | None = None,
    ready: Event | None = None,
) -> None:
    """Serve until ``stop`` is set (or, without one, until SIGINT/SIGTERM); set ``ready`` once serving."""
    configure_logging(options.log_level, json_format=options.json_logs)
    apply_hypercorn_fixes(enabled=options.hypercorn_fixes)
    if sockets is not None:
        for sock in (*sockets.secure_sockets, *sockets.insecure_sockets):
            sock.listen(config.backlog)
    try:
        app, name = load_app(options.location, factory=options.factory)
    except Exception:
        # Logged here, once, with the traceback (a syntax error names the line);
        # the supervisor sees the exit code and decides what comes next.
        logger.exception("Could not load the app %s", options.location.describe())
        raise SystemExit(3) from None
    served = build_served_app(app, options)
    trio.run(partial(_serve, served, app, name, config, sockets, stop, ready))


def build_served_app(app: Any, options: ServeOptions) -> ServedApp:
    """The app as a worker serves it: with its metrics, behind proxy headers and the probe."""
    if options.metrics_path:
        from trioapi.metrics import instrument

        instrument(app, path=options.metrics_path)
    if options.proxy_headers:
        from trioapi.middleware.proxy_headers import ProxyHeadersMiddleware

        app = ProxyHeadersMiddleware(app, options.forwarded_allow_ips)
    return ServedApp(app, options.health_path)


async def _serve(
    served: ServedApp,
    app: Any,
    name: str,
    config: Config,
    sockets: Sockets | None,
    stop: Event | None,
    ready: Event | None,
) -> None:
    from hypercorn.trio import run as hypercorn_run
    from hypercorn.utils import wrap_app

    trigger = None if stop is None else partial(_wait_for_event, stop)
    served_app: Any = served  # an ASGI app; hypercorn's type names its own message TypedDicts
    wrapped = wrap_app(served_app, config.wsgi_max_body_size, "asgi")
    # Looked up on the module at call time: trioapi's wrapper (fix shutdown-trigger)
    # hands the shutdown trigger to ServedApp, and through it to the app.
    worker_serve = hypercorn_run.worker_serve
    async with trio.open_nursery() as nursery:
        binds = await nursery.start(
            partial(worker_serve, wrapped, config, sockets=sockets, shutdown_trigger=trigger)
        )
        served.mark_ready_without_lifespan()
        log_started(name, app, binds, config.root_path)
        if ready is not None:
            ready.set()
    served.log_stopped()


def log_started(name: str, app: Any, binds: list[str], root_path: str) -> None:
    """The start-up line: what is served, where, and where its docs are."""
    for bind in binds:
        docs_url = getattr(app, "docs_url", None) if getattr(app, "openapi_url", None) else None
        docs = f", docs at {bind}{root_path}{docs_url}" if docs_url else ""
        logger.info("Serving %s on %s%s (worker pid %d)", name, bind, docs, os.getpid())


async def _wait_for_event(event: Event) -> None:
    # A multiprocessing Event cannot be awaited; polled, as hypercorn does.
    while not event.is_set():  # noqa: ASYNC110 - no trio.Event crosses processes
        await trio.sleep(STOP_POLL_INTERVAL)
