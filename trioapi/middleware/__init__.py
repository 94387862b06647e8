"""ASGI middleware, and ``Middleware``: a middleware class with its options, applied later.

An application builds its stack from a list of ``Middleware`` entries when it
first serves a request, so options given here are checked once, at that time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Generic, ParamSpec, Protocol

from trioapi.types import ASGIApp

__all__ = ["Middleware"]

P = ParamSpec("P")


class _MiddlewareFactory(Protocol[P]):
    """Anything called as ``factory(app, *args, **kwargs)`` that returns an ASGI app."""

    def __call__(self, app: ASGIApp, /, *args: P.args, **kwargs: P.kwargs) -> ASGIApp:
        """Wrap ``app``."""
        ...  # pragma: no cover - a protocol


class Middleware(Generic[P]):
    """A middleware class and the arguments to build it with.

    It unpacks as ``cls, args, kwargs``, as Starlette's does::

        cls, args, kwargs = Middleware(GZipMiddleware, minimum_size=1000)
        app = cls(app, *args, **kwargs)

    Args:
        cls: the middleware class (or any factory taking the app first).
        *args: positional arguments after the app.
        **kwargs: keyword arguments.
    """

    def __init__(self, cls: _MiddlewareFactory[P], *args: P.args, **kwargs: P.kwargs) -> None:
        self.cls = cls
        self.args: tuple[Any, ...] = args
        self.kwargs: dict[str, Any] = kwargs

    def __iter__(self) -> Iterator[Any]:
        """Yield ``cls``, ``args`` and ``kwargs``."""
        return iter((self.cls, self.args, self.kwargs))

    def __repr__(self) -> str:
        parts = [getattr(self.cls, "__name__", repr(self.cls))]
        parts.extend(repr(value) for value in self.args)
        parts.extend(f"{key}={value!r}" for key, value in self.kwargs.items())
        return f"{type(self).__name__}({', '.join(parts)})"
