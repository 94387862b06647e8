"""The ``trioapi.background_task`` span around each background task of a recorded request."""

from __future__ import annotations

from typing import Any

from opentelemetry import context, trace
from opentelemetry.trace import Status, StatusCode

from trioapi.telemetry._cancel import is_cancellation
from trioapi.telemetry._logs import exception_type
from trioapi.telemetry._request import current_request


async def run_background_task(task: Any) -> None:
    """Run ``task`` (a ``BackgroundTask``) inside its span, a child of the server span.

    A checkpoint. The span is current in the task (and in its worker thread,
    for a ``def`` task); a failure marks it and goes on to the server, which
    logs it once.
    """
    request = current_request()
    span = None if request is None else request.start_span("trioapi.background_task", task.func)
    if request is not None:
        request.after_response = True
    if span is None or request is None:
        await task()
        return
    token = context.attach(trace.set_span_in_context(span, request.context))
    try:
        await task()
    except BaseException as exc:
        # After the response even an HTTPException is a failure: nobody receives it.
        if not is_cancellation(exc):
            span.set_status(Status(StatusCode.ERROR))
            span.set_attribute("error.type", exception_type(exc))
        raise
    finally:
        context.detach(token)
        span.end()
