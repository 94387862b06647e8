"""Generator endpoints: each item the endpoint yields is streamed to the client.

As in FastAPI, an endpoint that ``yield``s items is answered with JSON Lines
(``application/jsonl``, one JSON document per line), each item validated
against the item type of its return annotation (``AsyncIterable[Item]``)
when it has one. With ``response_class=StreamingResponse`` (or a subclass)
the items are sent as they are (``str`` or ``bytes`` chunks).

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
)
from contextlib import aclosing
from typing import Any, get_args, get_origin

from pydantic import TypeAdapter

from trioapi._routing.response_model import serialize_without_model
from trioapi.responses import Response, StreamingResponse

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


class StreamBuilder:
    """Turns the generator an endpoint returned into a streaming response.

    Attributes:
        response_class: The route's response class.
        adapter: Validates and dumps each item (``None``: ``jsonable_encoder``).
    """

    __slots__ = ("adapter", "response_class")

    def __init__(self, response_class: type[Response], item_type: Any) -> None:
        self.response_class = response_class
        self.adapter: TypeAdapter[Any] | None = (
            TypeAdapter(item_type) if item_type is not None else None
        )

    def encode(self, item: Any) -> bytes:
        """One JSON line for ``item``."""
        if self.adapter is None:
            return serialize_without_model(item) + b"\n"
        validated = self.adapter.validate_python(item, from_attributes=True)
        return self.adapter.dump_json(validated) + b"\n"

    def build(self, stream: Any, options: dict[str, Any]) -> Response:
        """The response streaming ``stream`` (an async or sync generator)."""
        if issubclass(self.response_class, StreamingResponse):
            return self.response_class(stream, **options)
        if isinstance(stream, AsyncIterable):
            content: Any = self._encode_async(stream)
        else:
            content = (self.encode(item) for item in stream)
        return StreamingResponse(content, media_type=JSON_LINES, **options)

    async def _encode_async(self, stream: AsyncIterable[Any]) -> AsyncIterator[bytes]:
        # aclosing: when the client goes away mid-stream, the endpoint's own
        # generator is closed too (its finally runs now, not at GC time).
        async with aclosing(stream):  # type: ignore[type-var]  # an async generator
            async for item in stream:
                yield self.encode(item)
