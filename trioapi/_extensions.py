"""ASGI extensions beyond plain request/response: early hints and response trailers.

A server lists what it supports in ``scope["extensions"]``; hypercorn offers
``http.response.early_hint``, ``http.response.trailers`` and
``http.response.push`` on HTTP/2 connections and none of them on HTTP/1.1.
Every helper here is a no-op when the connection lacks the extension, so an
endpoint can use them unconditionally.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TypeAlias

from trioapi.types import Scope, Send

EARLY_HINT = "http.response.early_hint"
TRAILERS = "http.response.trailers"

TrailerHeaders: TypeAlias = Mapping[str, str] | Iterable[tuple[str, str]]
TrailersSource: TypeAlias = (
    TrailerHeaders | Callable[[], TrailerHeaders] | Callable[[], Awaitable[TrailerHeaders]]
)


def has_extension(scope: Scope, name: str) -> bool:
    """Whether the server advertised the ASGI extension ``name`` for this connection."""
    extensions = scope.get("extensions") or {}
    return name in extensions


def can_send_trailers(scope: Scope) -> bool:
    """Whether trailers would reach the client: the server offers the extension and
    the request said ``TE: trailers`` (hypercorn drops them otherwise)."""
    if not has_extension(scope, TRAILERS):
        return False
    for name, value in scope.get("headers") or ():
        if name == b"te" and b"trailers" in value.lower():
            return True
    return False


def _check_value(value: str) -> None:
    if "\r" in value or "\n" in value or "\0" in value:
        raise ValueError(
            f"Header value {value!r} contains CR, LF or NUL, which would split the "
            "response. Remove those characters."
        )


async def send_early_hints(scope: Scope, send: Send, links: Iterable[str]) -> bool:
    """Send a ``103 Early Hints`` with one ``Link`` header per entry of ``links``.

    Returns whether it was sent: ``False`` (and nothing is sent) when the
    server does not offer the extension. A checkpoint only when it sends.

    Raises:
        ValueError: A link contains CR, LF or NUL.
    """
    encoded: list[bytes] = []
    for link in links:
        _check_value(link)
        encoded.append(link.encode("latin-1"))
    if not has_extension(scope, EARLY_HINT) or not encoded:
        return False
    await send({"type": EARLY_HINT, "links": encoded})
    return True


async def resolve_trailers(source: TrailersSource) -> list[tuple[bytes, bytes]]:
    """Turn a mapping, pairs, or a (sync or async) callable returning either into raw headers.

    Raises:
        ValueError: A name or value contains CR, LF or NUL.
    """
    value = source() if callable(source) else source
    if inspect.isawaitable(value):
        value = await value
    pairs = value.items() if isinstance(value, Mapping) else value
    raw: list[tuple[bytes, bytes]] = []
    for name, text in pairs:
        _check_value(name)
        _check_value(text)
        raw.append((name.lower().encode("latin-1"), text.encode("latin-1")))
    return raw


async def send_trailers(send: Send, source: TrailersSource) -> None:
    """Send the trailing headers once the body is complete. A checkpoint.

    Only call it when ``http.response.start`` announced ``"trailers": True``.
    """
    headers = await resolve_trailers(source)
    await send({"type": TRAILERS, "headers": headers, "more_trailers": False})
