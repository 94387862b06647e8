"""ASGI type aliases shared by every layer."""

from __future__ import annotations

import types
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any, TypeAlias, TypeVar

Scope: TypeAlias = MutableMapping[str, Any]
Message: TypeAlias = MutableMapping[str, Any]
Receive: TypeAlias = Callable[[], Awaitable[Message]]
Send: TypeAlias = Callable[[Message], Awaitable[None]]
ASGIApp: TypeAlias = Callable[[Scope, Receive, Send], Awaitable[None]]

StatelessLifespan: TypeAlias = Callable[[Any], Any]
# A lifespan that yields a state mapping (copied into each request's scope["state"]).
StatefulLifespan: TypeAlias = Callable[[Any], Any]
Lifespan: TypeAlias = Callable[[Any], Any]
ExceptionHandler: TypeAlias = Callable[[Any, Exception], Any]
HTTPExceptionHandler: TypeAlias = Callable[[Any, Exception], Any]
WebSocketExceptionHandler: TypeAlias = Callable[[Any, Exception], Awaitable[None]]
HeaderList: TypeAlias = list[tuple[bytes, bytes]]
JSONMapping: TypeAlias = Mapping[str, Any]

# The typed layer's aliases, under the names fastapi.types gives them.
DecoratedCallable = TypeVar("DecoratedCallable", bound=Callable[..., Any])
"""A decorated function, returned unchanged by route and event decorators."""
UnionType = types.UnionType
IncEx: TypeAlias = set[int] | set[str] | Mapping[int, Any] | Mapping[str, Any]
"""``include=``/``exclude=`` of a response model: field names, or a nested mapping."""
ModelNameMap: TypeAlias = dict[type, str]
"""Model (or enum) class -> its name in ``components.schemas``."""
DependencyCacheKey: TypeAlias = tuple[Callable[..., Any] | None, tuple[str, ...], str]
"""What a dependency's value is cached by within a request: callable, scopes, scope."""
