"""The log records trioapi sends: unhandled exceptions and refused input, with trace context.

Records carry the request's context (its server span, its trace), and the
route's template, never the request's data: the message of an unhandled
exception and its stack trace are the only free text.
"""

from __future__ import annotations

import traceback
from time import time_ns
from typing import TYPE_CHECKING, Any

from opentelemetry._logs import LogRecord, SeverityNumber

if TYPE_CHECKING:
    from opentelemetry._logs import Logger
    from opentelemetry.context import Context

_BODIES = {
    "http": ("http.server.request.exception", "Unhandled exception in TrioAPI request"),
    "websocket": (
        "trioapi.websocket.exception",
        "Unhandled exception in TrioAPI WebSocket connection",
    ),
}


def exception_type(exc: BaseException) -> str:
    """``error.type`` / ``exception.type``: the class's qualified name (bare for built-ins)."""
    cls = type(exc)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def _route_attributes(route: str | None) -> dict[str, Any]:
    return {} if route is None else {"http.route": route}


def log_exception(
    logger: Logger | None, context: Context, route: str | None, exc: BaseException, kind: str
) -> None:
    """Send an ERROR record for ``exc``, which escaped the app while serving a request.

    Args:
        logger: The request's logger (``None``: no record is sent).
        context: The request's context (its server span, its trace).
        route: The route's template, if a route answered.
        exc: The exception.
        kind: ``"http"`` or ``"websocket"``.
    """
    if logger is None:
        return
    event, body = _BODIES[kind]
    attributes = _route_attributes(route)
    attributes["exception.type"] = exception_type(exc)
    attributes["exception.message"] = str(exc)
    attributes["exception.stacktrace"] = "".join(traceback.format_exception(exc))
    timestamp = time_ns()
    logger.emit(
        LogRecord(
            timestamp=timestamp,
            observed_timestamp=max(timestamp, time_ns()),
            context=context,
            severity_text="ERROR",
            severity_number=SeverityNumber.ERROR,
            body=body,
            attributes=attributes,
            event_name=event,
            exception=exc,
        )
    )


def log_validation_failure(
    logger: Logger | None, context: Context, route: str | None, error_count: int
) -> None:
    """Send a WARN record: the request's input did not validate (the errors stay out of it)."""
    if logger is None:
        return
    attributes = _route_attributes(route)
    attributes["trioapi.validation.error_count"] = error_count
    timestamp = time_ns()
    logger.emit(
        LogRecord(
            timestamp=timestamp,
            observed_timestamp=max(timestamp, time_ns()),
            context=context,
            severity_text="WARN",
            severity_number=SeverityNumber.WARN,
            body="Request validation failed",
            attributes=attributes,
            event_name="trioapi.validation.failed",
        )
    )
