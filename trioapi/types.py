"""ASGI type aliases shared by every layer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any, TypeAlias

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
