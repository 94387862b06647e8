"""Logging for ``trioapi run``/``dev``: levels, timestamps, an access log, JSON on request.

:func:`configure_logging` sets up the root logger once per process (the
supervisor and each worker, which are spawned afresh). :class:`ServerLogger`
is hypercorn's ``logger_class``: it writes hypercorn's own messages through
the same handler and turns each finished request into one ``trioapi.access``
line with method, path, protocol, status, duration and request id.

One traceback per error: trioapi logs an unhandled error with its request
(``trioapi._scopes.log_request_error``) and then re-raises it, as Starlette
does, so hypercorn logs it again as "Error in ASGI Framework".
:class:`OneTracebackFilter` marks the exceptions trioapi has logged and drops
hypercorn's second report of the same one.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Iterator, Mapping
from typing import Any

from hypercorn.logging import Logger

from trioapi._request_state import ResponsePhase

ACCESS_LOGGER = "trioapi.access"
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
# Libraries whose DEBUG output is about wire details, not the app.
_QUIET_LIBRARIES = ("hpack", "h2", "h11", "httpx", "httpcore", "multipart", "python_multipart")
_LOGGED_MARK = "__trioapi_logged__"
_TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
# Attributes every LogRecord has; the rest are a call's ``extra=`` fields.
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
}


class JSONFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the ``extra=`` fields, traceback."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a single line of JSON."""
        entry: dict[str, Any] = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        """ISO 8601 in UTC with milliseconds, e.g. ``2026-12-06T07:30:00.123Z``."""
        seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        return f"{seconds}.{int(record.msecs):03d}Z"


class OneTracebackFilter(logging.Filter):
    """Drop hypercorn's report of an error trioapi has already logged with its request."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Mark trioapi's errors; refuse hypercorn's records about a marked one."""
        error = record.exc_info[1] if record.exc_info else None
        if error is None:
            return True
        if record.name.startswith("trioapi"):
            for leaf in _leaves(error):
                _mark(leaf)
            return True
        return not (record.name == "hypercorn.error" and all(map(_is_marked, _leaves(error))))


def _mark(error: BaseException) -> None:
    try:
        setattr(error, _LOGGED_MARK, True)
    except AttributeError:  # an exception type that takes no attributes: log it twice
        pass


def _is_marked(error: BaseException) -> bool:
    return bool(getattr(error, _LOGGED_MARK, False))


def _leaves(error: BaseException) -> Iterator[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            yield from _leaves(inner)
    else:
        yield error


def configure_logging(level: str = "info", *, json_format: bool = False) -> logging.Handler:
    """Send every logger's records to stderr, with timestamp and level, at ``level``.

    Replaces the root logger's handlers (idempotent), so the app's own
    ``logging`` calls appear too. ``"trace"`` is DEBUG including the wire
    libraries (h2, h11, hpack), which DEBUG otherwise leaves at WARNING.

    Returns:
        The handler now on the root logger.
    """
    handler = logging.StreamHandler(sys.stderr)
    if json_format:
        handler.setFormatter(JSONFormatter())
    else:
        handler.setFormatter(logging.Formatter(_TEXT_FORMAT))
    handler.addFilter(OneTracebackFilter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(logging.DEBUG if level == "trace" else level.upper())
    for name in _QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.DEBUG if level == "trace" else logging.WARNING)
    # hypercorn's loggers keep their own handlers when hypercorn configures
    # them; ServerLogger hands them to the root handler instead.
    for name in ("hypercorn.error", "hypercorn.access"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    return handler


def protocol_of(scope: Mapping[str, Any]) -> str:
    """``HTTP/1.1``, ``HTTP/2``, or ``WS/1.1`` for a WebSocket over HTTP/1.1."""
    version = scope.get("http_version", "1.1")
    return f"{'WS' if scope.get('type') == 'websocket' else 'HTTP'}/{version}"


def request_id_of(scope: Mapping[str, Any]) -> str:
    """The id trioapi's log lines gave the request, its ``X-Request-ID``, or a new one."""
    context = scope.get("trioapi.context")
    if context is not None:  # the request is still running: take (and fix) its id
        return str(context.request_id)
    known = scope.get("trioapi.request_id")
    if isinstance(known, str):
        return known
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            return str(value.decode("latin-1")[:200])
    return os.urandom(8).hex()


class ServerLogger(Logger):
    """hypercorn's logger, through :func:`configure_logging`'s handler and trioapi's access format.

    hypercorn builds it from its ``Config`` in every worker process; the
    access log is on unless ``config.accesslog`` is ``None``.
    """

    def __init__(self, config: Any) -> None:
        self.access_log_format = config.access_log_format
        self.access_logger = logging.getLogger(ACCESS_LOGGER) if config.accesslog else None
        self.error_logger = logging.getLogger("hypercorn.error") if config.errorlog else None

    async def access(self, request: Any, response: Any, request_time: float) -> None:
        """Log one finished request: ``127.0.0.1:5000 - "GET /items HTTP/1.1" 200 1.8 ms [id]``."""
        if self.access_logger is None or not self.access_logger.isEnabledFor(logging.INFO):
            return
        context = request.get("trioapi.context")
        if response is None and context is not None and context.phase is ResponsePhase.ENDING:
            # hypercorn saw the client close while it was still sending the
            # last body message; it logs the finished response right after.
            return
        message, args, extra = access_record(request, response, request_time)
        self.access_logger.info(message, *args, extra=extra)

    async def info(self, message: str, *args: Any, **kwargs: Any) -> None:
        """hypercorn's INFO lines, except "Running on", which trioapi's start-up line replaces."""
        if self.error_logger is not None:
            level = logging.DEBUG if message.startswith("Running on") else logging.INFO
            self.error_logger.log(level, message, *args, **kwargs)


def access_record(
    request: Any, response: Any, request_time: float
) -> tuple[str, tuple[object, ...], dict[str, object]]:
    """The access log line for one request: its format, the format's args, the extra fields."""
    client = request.get("client")
    remote = f"{client[0]}:{client[1]}" if client and len(client) == 2 else "-"
    method = request.get("method", "GET")
    path = request.get("path", "")
    query = request.get("query_string", b"")
    target = path + ("?" + query.decode("latin-1") if query else "")
    status = response.get("status", 0) if response is not None else 0
    protocol = protocol_of(request)
    request_id = request_id_of(request)
    duration_ms = round(request_time * 1000, 2)
    extra: dict[str, object] = {
        "client": remote,
        "method": method,
        "path": path,
        "protocol": protocol,
        "status": status,
        "duration_ms": duration_ms,
        "request_id": request_id,
    }
    message = '%s - "%s %s %s" %s %.1f ms [%s]'
    args: tuple[object, ...] = (
        remote,
        method,
        target,
        protocol,
        status or "-",
        duration_ms,
        request_id,
    )
    cancelled = cancel_reason_of(request)
    if cancelled is not None:
        message += " cancelled: %s"
        args += (cancelled,)
        extra["cancelled"] = cancelled
    return message, args, extra


def cancel_reason_of(request: Any) -> str | None:
    """Why trioapi cancelled the request (``"send_timeout"``, ``"disconnect"``, ...), if it did.

    Read from the request's context while it runs, else from what it left in
    the scope when it ended (hypercorn may log the line either way).
    """
    context = request.get("trioapi.context")
    reason = getattr(context, "cancel_reason", None)
    if reason is not None:
        return str(reason.value)
    stored = request.get("trioapi.cancelled")
    return stored if isinstance(stored, str) else None
