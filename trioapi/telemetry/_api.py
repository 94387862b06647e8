"""``TelemetryData``: a request's own data, and the context key it travels under.

:func:`trioapi.telemetry.get_telemetry_data` (in ``_request``) hands it to
OpenTelemetry processors that run in the request. Each recorded request (or WebSocket connection) puts its ``RequestTelemetry``
in the OpenTelemetry context under one key. The context travels wherever
the request's work goes: Trio copies it into nursery children and worker
threads, so a span or log record made there carries it too. When the
request is over its data is dropped, so a context kept afterwards holds
nothing of the request.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context

if TYPE_CHECKING:
    from trioapi.requests import Request
    from trioapi.websockets import WebSocket

#: The context key of the current request's ``RequestTelemetry`` (``None``: not recorded).
REQUEST_KEY = otel_context.create_key("trioapi.request")


class ParsedBodyView:
    """A request's parsed body (``trioapi.dependencies.body.ParsedBody``), read when asked.

    The fast JSON path validates without keeping a parsed copy: one is made
    only if something reads ``TelemetryData.body``.
    """

    __slots__ = ("parsed",)

    def __init__(self, parsed: Any) -> None:
        self.parsed = parsed

    def value(self) -> Any:
        """The body as ``RequestValidationError.body`` carries it; ``None`` when there was none."""
        return None if self.parsed.absent else self.parsed.for_error


class TelemetryData:
    """What trioapi knows about the current request, for synchronous processors.

    trioapi fills the fields in as it handles the request. Treat them as
    read-only, and apply your own capture and redaction rules before
    exporting any of it: nothing here is added to spans or logs by trioapi.

    Attributes:
        request: The ``Request``, once its route handler starts (HTTP).
        websocket: The ``WebSocket``, once its route handler starts.
        values: The endpoint's arguments, once the dependencies are solved.
        errors: The validation errors (with their input); ``[]`` once the
            parameters validated.
    """

    __slots__ = ("_body", "errors", "request", "values", "websocket")

    def __init__(self) -> None:
        self.request: Request | None = None
        self.websocket: WebSocket | None = None
        self.values: dict[str, Any] | None = None
        self.errors: Sequence[Any] | None = None
        self._body: Any = None

    @property
    def body(self) -> Any:
        """The body as read, before parameter validation (``None``: none)."""
        body = self._body
        return body.value() if isinstance(body, ParsedBodyView) else body

    @body.setter
    def body(self, value: Any) -> None:
        self._body = value

    def __repr__(self) -> str:
        return f"TelemetryData(request={self.request!r}, websocket={self.websocket!r})"
