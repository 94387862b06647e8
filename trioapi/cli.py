"""The ``trioapi`` command: ``trioapi dev app:app`` and ``trioapi run app:app``.

Both are thin layers over hypercorn with its trio worker; every option maps
to a hypercorn ``Config`` field. Both apply :func:`trioapi._server.patch_hypercorn`
first (a version-guarded fix for a worker-killing race in hypercorn's trio
worker) and :func:`trioapi._server.patch_hypercorn_worker_serve` (graceful
shutdown reaches the app: WebSockets close with 1001, streams end); worker
processes, which hypercorn spawns afresh, get both from ``TrioAPI``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from hypercorn.config import Config
from hypercorn.run import run as hypercorn_run

from trioapi._server import patch_hypercorn, patch_hypercorn_worker_serve

NO_REQUEST_LIMIT = sys.maxsize
"""``--keep-alive-max-requests 0``: what hypercorn is given for "no limit"."""

# hypercorn (0.17, 0.18) closes a connection after keep_alive_max_requests
# requests, 1000 by default. Over HTTP/2 it counts streams and, at the limit,
# sends GOAWAY naming every stream it has received as accepted, then closes
# the connection without finishing the streams still in flight: a busy
# HTTP/2 client (one connection, many streams) loses every request in flight
# each time, and cannot tell they are safe to retry. So trioapi serves with
# no limit by default; idle connections still close after keep_alive_timeout.
DEFAULT_KEEP_ALIVE_MAX_REQUESTS = 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for both sub-commands."""
    parser = argparse.ArgumentParser(prog="trioapi", description="Serve a trioapi app with hypercorn's trio worker.")
    commands = parser.add_subparsers(dest="command", required=True)
    dev = commands.add_parser("dev", help="Serve for development: 127.0.0.1, reload on change, debug log.")
    run = commands.add_parser("run", help="Serve for production: 0.0.0.0, several workers.")
    for sub, host, workers in ((dev, "127.0.0.1", 1), (run, "0.0.0.0", 1)):
        sub.add_argument("app", help="The application as module:attribute, e.g. main:app.")
        sub.add_argument("--host", default=host, help=f"Address to bind (default {host}).")
        sub.add_argument("--port", type=int, default=8000, help="Port to bind (default 8000).")
        sub.add_argument(
            "--bind",
            action="append",
            metavar="HOST:PORT",
            help="Address to bind, as hypercorn's --bind; repeatable; replaces --host/--port.",
        )
        sub.add_argument("--workers", type=int, default=workers, help="Worker processes.")
        sub.add_argument("--root-path", default="", help="ASGI root_path for apps behind a proxy.")
        sub.add_argument("--certfile", default=None, help="TLS certificate (enables HTTPS and h2 over ALPN).")
        sub.add_argument("--keyfile", default=None, help="TLS private key.")
        sub.add_argument("--graceful-timeout", type=float, default=5.0, help="Seconds in-flight requests get at shutdown.")
        sub.add_argument(
            "--keep-alive-max-requests",
            type=int,
            default=DEFAULT_KEEP_ALIVE_MAX_REQUESTS,
            metavar="N",
            help="Close a connection after N requests (0, the default: never). Over HTTP/2, "
            "hypercorn drops the streams in flight when it does.",
        )
    dev.add_argument("--no-reload", action="store_true", help="Do not restart when a source file changes.")
    return parser


def build_config(args: argparse.Namespace) -> Config:
    """The hypercorn configuration the parsed arguments describe."""
    config = Config()
    config.application_path = args.app
    config.worker_class = "trio"
    config.bind = args.bind or [f"{args.host}:{args.port}"]
    config.workers = args.workers
    config.root_path = args.root_path
    config.graceful_timeout = args.graceful_timeout
    config.keep_alive_max_requests = args.keep_alive_max_requests or NO_REQUEST_LIMIT
    config.accesslog = "-"
    config.errorlog = "-"
    if args.certfile:
        config.certfile = args.certfile
        config.keyfile = args.keyfile
    if args.command == "dev":
        config.use_reloader = not args.no_reload
        config.loglevel = "DEBUG"
    return config


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = build_parser().parse_args(argv)
    if "." not in sys.path and "" not in sys.path:
        sys.path.insert(0, ".")  # import the app from the working directory, as hypercorn does
    # Both cover --workers 0, where this process serves itself.
    patch_hypercorn()
    patch_hypercorn_worker_serve()
    return hypercorn_run(build_config(args))
