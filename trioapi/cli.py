"""The ``trioapi`` command: ``trioapi dev [APP]`` and ``trioapi run [APP]``.

Both serve the app with hypercorn's trio worker, after trioapi's
version-guarded fixes to it (``trioapi.server``), and in the conventions of
``fastapi dev``/``fastapi run`` and uvicorn: app discovery, ``--reload``,
``--log-level``, an access log, proxy headers, ``PORT``. Worker processes
are supervised (``trioapi._cli.supervisor``): one that dies is restarted.
The parts live in ``trioapi._cli``; this module is the entry point.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence

from trioapi._cli.discovery import AppNotFoundError
from trioapi._cli.logs import configure_logging
from trioapi._cli.options import (
    DEFAULT_KEEP_ALIVE_MAX_REQUESTS,
    NO_REQUEST_LIMIT,
    build_config,
    build_options,
    build_parser,
)

__all__ = [
    "DEFAULT_KEEP_ALIVE_MAX_REQUESTS",
    "NO_REQUEST_LIMIT",
    "build_config",
    "build_options",
    "build_parser",
    "main",
]

logger = logging.getLogger("trioapi.server")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = build_parser().parse_args(argv)
    if args.command == "dev":
        # As `fastapi dev` sets FASTAPI_ENV: the app (and its worker processes,
        # which inherit it) may tell development from production, e.g.
        # frontend(check_dir="auto") warns instead of failing on a missing build.
        os.environ.setdefault("TRIOAPI_ENV", "development")
    configure_logging(args.log_level, json_format=args.log_format == "json")
    try:
        options = build_options(args)
    except AppNotFoundError as exc:
        logger.error("%s", exc)
        return 2
    config = build_config(args)
    if config.workers == 0:
        if options.reload:
            logger.error("--reload needs a worker process: use --workers 1 or more")
            return 2
        from trioapi._cli.worker import run_worker

        try:
            run_worker(config, options)
        except SystemExit as exc:
            return int(exc.code or 0)
        except KeyboardInterrupt:  # a second Ctrl-C
            return 130
        return 0
    from trioapi._cli.supervisor import Supervisor

    try:
        return Supervisor(config, options).run()
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover - python -m trioapi is the usual spelling
    sys.exit(main())
