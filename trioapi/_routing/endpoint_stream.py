"""Generator endpoints: each item the endpoint yields is streamed to the client.

As in FastAPI, an endpoint that ``yield``s items is answered with JSON Lines
(``application/jsonl``, one JSON document per line), each item validated
against the item type of its return annotation (``AsyncIterable[Item]``)
when it has one. With ``response_class=EventSourceResponse`` each item is
sent as a server-sent event instead (a plain item as a ``data:`` line of
JSON, a ``ServerSentEvent`` with its own fields). With
``response_class=StreamingResponse`` (or another subclass) the items are sent
as they are (``str`` or ``bytes`` chunks).

Closing the response (the client went away) closes the endpoint's generator
at once, so its ``finally`` runs then, not whenever it is garbage collected.

The stream is sent inside the request's scopes, so request-scoped ``yield``
dependencies stay open until the last item has been sent.
"""

from __future__ import annotations

import inspect
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Callable,
    Generator,
    Iterable,
    Iterator,
    Mapping,
)
from contextlib import aclosing, closing
from typing import Any, get_args, get_origin

from pydantic import TypeAdapter, ValidationError

from trioapi._routing.response_model import serialize_stream_item
from trioapi.dependencies.models import prefix_errors
from trioapi.exceptions import ResponseValidationError
from trioapi.responses import Response, StreamingResponse
from trioapi.sse import EventSourceResponse, ServerSentEvent, format_sse_event

__all__ = ["StreamBuilder", "is_stream_endpoint", "stream_item_type"]

_STREAM_ORIGINS = (AsyncGenerator, AsyncIterable, AsyncIterator, Generator, Iterable, Iterator)
JSON_LINES = "application/jsonl"


def _target(endpoint: Callable[..., Any]) -> Any:
    target = inspect.unwrap(endpoint)
    if not (inspect.isfunction(target) or inspect.ismethod(target)):
        target = type(target).__call__  # a callable instance runs its class's __call__
    return target


def is_stream_endpoint(endpoint: Callable[..., Any]) -> bool:
    """Whether ``endpoint`` is a (sync or async) generator function."""
    target = _target(endpoint)
    return inspect.isgeneratorfunction(target) or inspect.isasyncgenfunction(target)


def stream_item_type(endpoint: Callable[..., Any]) -> Any:
    """The item type of ``-> AsyncIterable[Item]`` and the like, or ``None``."""
    annotation = inspect.signature(endpoint, eval_str=True).return_annotation
    if get_origin(annotation) in _STREAM_ORIGINS:
        args = get_args(annotation)
        return args[0] if args else None
    return None


def _is_event_type(item_type: Any) -> bool:
    return isinstance(item_type, type) and issubclass(item_type, ServerSentEvent)


class StreamBuilder:
    """Turns the generator an endpoint returned into a streaming response.

    Attributes:
        response_class: The route's response class.
        adapter: Validates and dumps each item (``None``: ``jsonable_encoder``).
            ``None`` too when the declared items are ``ServerSentEvent``s.
        dump_options: The route's ``response_model_*`` options (``include``,
            ``exclude``, ``by_alias``, ``exclude_unset``, ...) for typed items.
        is_event_stream: The items are sent as server-sent events.
    """

    __slots__ = ("adapter", "dump_options", "is_event_stream", "response_class")

    def __init__(
        self,
        response_class: type[Response],
        item_type: Any,
        dump_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.response_class = response_class
        self.dump_options = dict(dump_options or {})
        self.is_event_stream = issubclass(response_class, EventSourceResponse)
        if _is_event_type(item_type):
            item_type = None  # events carry their own data; there is nothing to validate
        self.adapter: TypeAdapter[Any] | None = (
            TypeAdapter(item_type) if item_type is not None else None
        )

    def _dump(self, item: Any) -> bytes:
        if self.adapter is None:
            return serialize_stream_item(item)
        try:
            validated = self.adapter.validate_python(item, from_attributes=True)
        except ValidationError as exc:
            # As FastAPI: an invalid item is the endpoint's bug, reported as a
            # response validation error (the stream has started; it is cut).
            raise ResponseValidationError(prefix_errors(exc, ("response",)), body=item) from None
        return self.adapter.dump_json(validated, **self.dump_options)

    def encode(self, item: Any) -> bytes:
        """One JSON line for ``item``."""
        return self._dump(item) + b"\n"

    def encode_event(self, item: Any) -> bytes:
        """One server-sent event for ``item``: its own fields, or ``data:`` with its JSON."""
        if isinstance(item, ServerSentEvent):
            return item.encode()
        # JSON has no raw line breaks, so the item is always one data line.
        return format_sse_event(data=self._dump(item).decode("utf-8"))

    def build(self, stream: Any, options: dict[str, Any]) -> Response:
        """The response streaming ``stream`` (an async or sync generator)."""
        if self.is_event_stream:
            return self.response_class(self._encoded(stream, self.encode_event), **options)
        if issubclass(self.response_class, StreamingResponse):
            return self.response_class(stream, **options)
        return StreamingResponse(
            self._encoded(stream, self.encode), media_type=JSON_LINES, **options
        )

    def _encoded(self, stream: Any, encode: Callable[[Any], bytes]) -> Any:
        if isinstance(stream, AsyncIterable):
            return _encode_async(stream, encode)
        return _encode_sync(stream, encode)


async def _encode_async(
    stream: AsyncIterable[Any], encode: Callable[[Any], bytes]
) -> AsyncIterator[bytes]:
    # aclosing: when the client goes away mid-stream, the endpoint's own
    # generator is closed too (its finally runs now, not at GC time).
    async with aclosing(stream):  # type: ignore[type-var]  # an async generator
        async for item in stream:
            yield encode(item)


def _encode_sync(stream: Iterable[Any], encode: Callable[[Any], bytes]) -> Iterator[bytes]:
    # closing: StreamingResponse closes this generator (in a worker thread)
    # when the client goes away; that must close the endpoint's generator too.
    with closing(stream):  # type: ignore[type-var]  # a generator
        for item in stream:
            yield encode(item)
