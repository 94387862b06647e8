"""Lifespans of routers: the app's, and those of every router it includes, nested.

A router's lifespan is a stack of layers, outermost first: its own (the
``lifespan=`` it was given, or the runner of its ``on_startup`` /
``on_shutdown`` handlers), then the layers of each router it includes, in
the order they were included. Entering the stack enters each layer inside
the previous one; leaving it leaves them innermost first. The state dicts the
layers yield are merged, an outer router's keys winning over an inner one's.

An included router's ``on_startup``/``on_shutdown`` handlers are also copied
into the including router's lists (FastAPI's visible behaviour), so each
events layer remembers which routers' handlers it already ran and a handler
never runs twice.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable, Generator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from typing import Any, Protocol

from trioapi.concurrency import is_async_callable

__all__ = ["EventHandlers", "LifespanContext", "LifespanLayer", "compose_lifespan", "to_lifespan"]

LifespanContext = Callable[[Any], AbstractAsyncContextManager[Any]]
"""``lifespan(app)`` returning an async context manager that may yield a state dict."""


class EventHandlers(Protocol):
    """What the events layer reads from a router."""

    on_startup: list[Callable[[], Any]]
    on_shutdown: list[Callable[[], Any]]


class LifespanLayer:
    """One level of the nested lifespan: a user lifespan, or a router's event handlers.

    Attributes:
        context: The user's lifespan, or ``None`` for an events layer.
        router: For an events layer, the router whose handlers it runs.
        covers: Ids of the routers whose handlers ``router``'s lists also hold.
    """

    __slots__ = ("context", "covers", "router")

    def __init__(
        self,
        *,
        context: LifespanContext | None = None,
        router: EventHandlers | None = None,
        covers: set[int] | None = None,
    ) -> None:
        self.context = context
        self.router = router
        self.covers = covers if covers is not None else set()


def to_lifespan(lifespan: Callable[[Any], Any]) -> LifespanContext:
    """Accept a lifespan as an async or sync generator function, or a context manager factory.

    Raises:
        TypeError: ``lifespan`` is not callable.
    """
    if not callable(lifespan):
        raise TypeError(
            f"lifespan= must be a callable taking the app, got {lifespan!r}. Pass an "
            "@asynccontextmanager function, or an async generator function that yields once."
        )
    if inspect.isasyncgenfunction(lifespan):
        return asynccontextmanager(lifespan)
    if inspect.isgeneratorfunction(lifespan):
        return _lift_sync(lifespan)
    return lifespan


def _lift_sync(lifespan: Callable[[Any], Generator[Any, None, None]]) -> LifespanContext:
    sync_context = contextmanager(lifespan)

    @asynccontextmanager
    async def lifted(app: Any) -> AsyncIterator[Any]:
        with sync_context(app) as state:
            yield state

    return lifted


def compose_lifespan(layers: Sequence[LifespanLayer]) -> LifespanContext:
    """The lifespan that enters ``layers`` nested, outermost first, and merges their states."""

    def lifespan_context(app: Any) -> AbstractAsyncContextManager[Any]:
        return _enter_layers(app, tuple(layers), set())

    return lifespan_context


@asynccontextmanager
async def _enter_layers(
    app: Any, layers: tuple[LifespanLayer, ...], ran: set[int]
) -> AsyncIterator[Mapping[str, Any] | None]:
    if not layers:
        yield None
        return
    async with (
        _enter_layer(app, layers[0], ran) as outer,
        _enter_layers(app, layers[1:], ran) as inner,
    ):
        yield _merge_states(outer, inner)


def _enter_layer(app: Any, layer: LifespanLayer, ran: set[int]) -> AbstractAsyncContextManager[Any]:
    if layer.context is not None:
        return layer.context(app)
    if layer.router is None or id(layer.router) in ran:
        # An including router's events layer already ran these handlers.
        return _nothing()
    ran.update(layer.covers)
    ran.add(id(layer.router))
    return _run_events(layer.router)


@asynccontextmanager
async def _nothing() -> AsyncIterator[None]:
    yield None


@asynccontextmanager
async def _run_events(router: EventHandlers) -> AsyncIterator[None]:
    # The lists are read when the lifespan runs, not when the layer was made,
    # so handlers registered after include_router still run.
    await _call_all(router.on_startup)
    yield None
    await _call_all(router.on_shutdown)


async def _call_all(handlers: Sequence[Callable[[], Any]]) -> None:
    for handler in list(handlers):
        if is_async_callable(handler):
            await handler()
        else:
            handler()


def _merge_states(outer: Any, inner: Any) -> Mapping[str, Any] | None:
    if outer is None and inner is None:
        return None
    return {**(inner or {}), **(outer or {})}
