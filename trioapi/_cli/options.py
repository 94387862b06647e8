"""The command line of ``trioapi dev`` and ``trioapi run``, in fastapi-cli's and uvicorn's terms."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field

from hypercorn.config import Config

from trioapi._cli.discovery import AppLocation, locate_app
from trioapi._cli.logs import LOG_LEVELS, ServerLogger

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


@dataclass(frozen=True)
class ServeOptions:
    """What each worker needs beyond hypercorn's ``Config`` (sent to spawned workers)."""

    location: AppLocation
    factory: bool = False
    log_level: str = "info"
    json_logs: bool = False
    proxy_headers: bool = True
    forwarded_allow_ips: str = "127.0.0.1"
    health_path: str | None = None
    metrics_path: str | None = None
    reload: bool = False
    reload_dirs: tuple[str, ...] = field(default=())
    hypercorn_fixes: bool = True


def _version() -> str:
    from importlib.metadata import version

    from trioapi import __version__

    python = ".".join(map(str, sys.version_info[:3]))
    return (
        f"trioapi {__version__} (hypercorn {version('hypercorn')}, trio {version('trio')}, "
        f"Python {python})"
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for both sub-commands."""
    parser = argparse.ArgumentParser(
        prog="trioapi", description="Serve a trioapi app with hypercorn's trio worker."
    )
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", required=True)
    dev = commands.add_parser(
        "dev", help="Serve for development: 127.0.0.1, reload on change, DEBUG log."
    )
    run = commands.add_parser(
        "run", help="Serve for production: 0.0.0.0, supervised workers (--workers), INFO log."
    )
    for sub, host, reload, level in (
        (dev, "127.0.0.1", True, "debug"),
        (run, "0.0.0.0", False, "info"),
    ):
        _add_app_options(sub)
        _add_bind_options(sub, host)
        _add_serving_options(sub, reload)
        _add_logging_options(sub, level)
    return parser


def _add_app_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "app",
        nargs="?",
        help="module:attribute (main:app), or a file (main.py, app/main.py:api); "
        "default: the first of main.py, app.py, api.py, app/main.py, ...",
    )
    sub.add_argument("--app", dest="app_name", metavar="NAME", help="The app's attribute name.")
    sub.add_argument(
        "--app-dir", default=".", help="Import the app from this directory (default .)."
    )
    sub.add_argument(
        "--factory", action="store_true", help="The attribute is a function returning the app."
    )


def _add_bind_options(sub: argparse.ArgumentParser, host: str) -> None:
    port = int(os.environ.get("PORT", "8000"))
    sub.add_argument("--host", default=host, help=f"Address to bind (default {host}).")
    sub.add_argument("--port", type=int, default=port, help="Port to bind (default $PORT or 8000).")
    sub.add_argument(
        "--bind",
        action="append",
        metavar="HOST:PORT",
        help="Address to bind, as hypercorn's --bind; repeatable; replaces --host/--port.",
    )
    sub.add_argument("--root-path", default="", help="ASGI root_path for apps behind a proxy.")
    sub.add_argument(
        "--certfile", default=None, help="TLS certificate (enables HTTPS and h2 over ALPN)."
    )
    sub.add_argument("--keyfile", default=None, help="TLS private key.")
    sub.add_argument(
        "--proxy-headers",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="Trust X-Forwarded-Proto/-For/-Host from --forwarded-allow-ips (default on).",
    )
    sub.add_argument(
        "--forwarded-allow-ips",
        default=os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        help="Comma-separated proxy addresses or networks to trust, or '*' "
        "(default $FORWARDED_ALLOW_IPS or 127.0.0.1).",
    )


def _add_serving_options(sub: argparse.ArgumentParser, reload: bool) -> None:
    workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
    sub.add_argument(
        "--workers",
        type=int,
        default=workers,
        help="Worker processes, restarted when they die (default $WEB_CONCURRENCY or 1; "
        "0: serve in this process).",
    )
    sub.add_argument(
        "--reload",
        action=argparse.BooleanOptionalAction,
        default=reload,
        help=f"Restart the workers when a .py file changes (default {'on' if reload else 'off'}).",
    )
    sub.add_argument(
        "--reload-dir",
        action="append",
        default=[],
        metavar="DIR",
        help="Watch this directory for changes (repeatable; default the app's directory).",
    )
    sub.add_argument(
        "--graceful-timeout",
        type=float,
        default=5.0,
        help="Seconds in-flight requests get at shutdown.",
    )
    sub.add_argument(
        "--keep-alive-max-requests",
        type=int,
        default=DEFAULT_KEEP_ALIVE_MAX_REQUESTS,
        metavar="N",
        help="Close a connection after N requests (0, the default: never). Over HTTP/2, "
        "hypercorn drops the streams in flight when it does.",
    )
    sub.add_argument(
        "--health-path",
        default=None,
        metavar="PATH",
        help="Answer readiness probes here: 200 when serving, 503 while starting or draining.",
    )
    sub.add_argument(
        "--metrics",
        dest="metrics_path",
        default=None,
        metavar="PATH",
        help="Serve Prometheus metrics here (needs trioapi[metrics]; each worker counts its own).",
    )
    sub.add_argument(
        "--hypercorn-fixes",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="Apply trioapi's fixes to hypercorn (default on; each is logged; "
        "TRIOAPI_HYPERCORN_FIXES=0 also turns them off).",
    )


def _add_logging_options(sub: argparse.ArgumentParser, level: str) -> None:
    sub.add_argument(
        "--log-level", choices=LOG_LEVELS, default=level, help=f"Log level (default {level})."
    )
    sub.add_argument(
        "--access-log",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="Log one line per request (default on).",
    )
    sub.add_argument(
        "--log-format", choices=("text", "json"), default="text", help="Log lines as text or JSON."
    )


def build_options(args: argparse.Namespace) -> ServeOptions:
    """What the workers need to load and wrap the app (finds the app; imports nothing).

    Raises:
        AppNotFoundError: see :func:`~trioapi._cli.discovery.locate_app`.
    """
    location = locate_app(args.app, args.app_dir, args.app_name)
    return ServeOptions(
        location=location,
        factory=args.factory,
        log_level=args.log_level,
        json_logs=args.log_format == "json",
        proxy_headers=args.proxy_headers,
        forwarded_allow_ips=args.forwarded_allow_ips,
        health_path=args.health_path,
        metrics_path=args.metrics_path,
        reload=args.reload,
        reload_dirs=tuple(args.reload_dir) or (location.directory,),
        hypercorn_fixes=args.hypercorn_fixes,
    )


def build_config(args: argparse.Namespace) -> Config:
    """The hypercorn configuration the parsed arguments describe."""
    config = Config()
    config.application_path = args.app or ""
    config.worker_class = "trio"
    config.bind = args.bind or [f"{args.host}:{args.port}"]
    config.workers = args.workers
    config.root_path = args.root_path
    config.graceful_timeout = args.graceful_timeout
    config.keep_alive_max_requests = args.keep_alive_max_requests or NO_REQUEST_LIMIT
    config.logger_class = ServerLogger
    config.accesslog = "-" if args.access_log else None
    config.errorlog = "-"
    config.loglevel = args.log_level.upper()
    if args.certfile:
        config.certfile = args.certfile
        config.keyfile = args.keyfile
    config.use_reloader = args.reload
    return config
