"""Server-sent events: ``EventSourceResponse`` and ``ServerSentEvent``, as in FastAPI.

An endpoint that ``yield``s with ``response_class=EventSourceResponse``
streams ``text/event-stream``::

    @app.get("/items/stream", response_class=EventSourceResponse)
    async def stream() -> AsyncIterable[Item]:
        for item in items:
            yield item                     # data: {"name":"Plumbus"}

Each plain item is validated against the declared item type and sent as one
``data:`` line of JSON. Yield a :class:`ServerSentEvent` to set the other
fields (``event``, ``id``, ``retry``, ``comment``) or to send ``raw_data`` as
it is. While nothing has been sent for :data:`PING_INTERVAL` seconds, a
``: ping`` comment keeps proxies and clients from dropping the idle
connection. A reconnecting browser sends the last ``id`` it saw in the
``Last-Event-ID`` header; read it with
``last_event_id: Annotated[str | None, Header()] = None``.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, ValidationInfo, field_validator, model_validator

from trioapi._eventsource import (
    KEEPALIVE_COMMENT,
    LINE_BREAK,
    PING_INTERVAL,
    EventSourceResponse,
    format_sse_event,
)
from trioapi._routing.response_model import serialize_stream_item

# FastAPI's fastapi.sse offers it too.
from trioapi._streamingresponse import StreamingResponse as StreamingResponse

__all__ = [
    "KEEPALIVE_COMMENT",
    "PING_INTERVAL",
    "EventSourceResponse",
    "ServerSentEvent",
    "format_sse_event",
]


class ServerSentEvent(BaseModel):
    """One server-sent event with its fields, to ``yield`` from an SSE endpoint.

    Attributes:
        data: Any JSON-encodable value, sent as JSON (``"hello"`` with its quotes).
        raw_data: Text sent as it is, without JSON encoding. Not with ``data``.
        event: The event type; a single line.
        id: The event id; a single line without NUL.
        retry: The client's reconnection delay in milliseconds, ``>= 0``.
        comment: A comment line (or lines) the client ignores.

    Raises:
        pydantic.ValidationError: both ``data`` and ``raw_data`` are set, or
            ``event`` or ``id`` is not a single line.
    """

    data: Any = None
    raw_data: str | None = None
    event: str | None = None
    id: str | None = None
    retry: Annotated[int, Field(ge=0)] | None = None
    comment: str | None = None

    @field_validator("event", "id")
    @classmethod
    def _check_single_line(cls, value: str | None, info: ValidationInfo) -> str | None:
        # A line break would end the field early and let the rest of the
        # value be read as other fields (event injection).
        if value is not None and LINE_BREAK.search(value):
            raise ValueError(
                f"'{info.field_name}' must be a single line, but {value!r} contains a line "
                f"break. Remove the CR/LF, or send multi-line text in 'data'."
            )
        if info.field_name == "id" and value is not None and "\0" in value:
            # The SSE spec makes clients ignore an id that contains NUL.
            raise ValueError(f"'id' must not contain NUL, but {value!r} does. Remove it.")
        return value

    @model_validator(mode="after")
    def _check_one_kind_of_data(self) -> ServerSentEvent:
        if self.data is not None and self.raw_data is not None:
            raise ValueError(
                "Set either 'data' (sent as JSON) or 'raw_data' (sent as it is), not both."
            )
        return self

    def encode(self) -> bytes:
        """The event in the ``text/event-stream`` format."""
        text = self.raw_data
        if text is None and self.data is not None:
            dump_json = getattr(self.data, "model_dump_json", None)
            # A model keeps its own JSON settings (ser_json_inf_nan, aliases).
            encoded = dump_json() if dump_json is not None else serialize_stream_item(self.data)
            text = encoded if isinstance(encoded, str) else encoded.decode("utf-8")
        return format_sse_event(
            data=text, event=self.event, id=self.id, retry=self.retry, comment=self.comment
        )
