"""One request's telemetry: its server span's context and the spans of its operations.

The server span's middleware puts a ``RequestTelemetry`` in the ASGI scope
under ``SCOPE_KEY``; an ``APIRoute`` finds it there (one dict look-up, so a
request without telemetry pays nothing more) and records the dependencies,
endpoint and serialization spans as children of the server span.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

from opentelemetry import context, trace
from opentelemetry.trace import Span, Status, StatusCode

from trioapi.concurrency import run_in_threadpool
from trioapi.exceptions import HTTPException
from trioapi.telemetry._settings import TelemetrySettings

#: The ASGI scope key under which a request's ``RequestTelemetry`` travels.
SCOPE_KEY = "trioapi.telemetry"


def function_name(function: Callable[..., Any]) -> str:
    """The ``code.function.name`` of ``function``: its module-qualified name."""
    module = getattr(function, "__module__", None)
    name = getattr(function, "__qualname__", None) or type(function).__qualname__
    return f"{module}.{name}" if module else name


def _failed(span: Span, exc: BaseException) -> None:
    # An HTTPException is an answer, not a failure; the server span judges its status.
    if not isinstance(exc, HTTPException):
        span.set_status(Status(StatusCode.ERROR))


class RequestTelemetry:
    """The telemetry state of one request.

    Attributes:
        settings: The app's telemetry settings.
        server_context: The OpenTelemetry context whose current span is the server span.
        route: The matched route's template, with its mount prefixes, once routed.
        error_type: What failed, when a handled failure should mark the server span.
        cancelled: Why the request was cancelled, when it was.
    """

    __slots__ = (
        "_dependencies",
        "_token",
        "cancelled",
        "error_type",
        "route",
        "server_context",
        "settings",
    )

    def __init__(self, settings: TelemetrySettings, server_context: context.Context) -> None:
        self.settings = settings
        self.server_context = server_context
        self.route: str | None = None
        self.error_type: str | None = None
        self.cancelled: str | None = None
        self._dependencies: Span | None = None
        self._token: object = None

    @contextmanager
    def operation(self, name: str, function: Callable[..., Any]) -> Iterator[Span]:
        """A child span of the server span, current inside the block.

        Args:
            name: The span's name (``trioapi.endpoint``...).
            function: The endpoint it is about (``code.function.name``).

        Yields:
            The span (a non-recording one when operation spans are off).
        """
        if not self.settings.operation_spans:
            yield trace.INVALID_SPAN
            return
        span = self.settings.tracer.start_span(
            name,
            context=self.server_context,
            attributes={"code.function.name": function_name(function)},
        )
        token = context.attach(trace.set_span_in_context(span, self.server_context))
        try:
            yield span
        except BaseException as exc:
            _failed(span, exc)
            raise
        finally:
            context.detach(token)
            span.end()

    async def serve_route(
        self,
        route: Any,
        path: str,
        serve: Callable[[Callable[[dict[str, Any]], Awaitable[Any]], Any], Awaitable[None]],
    ) -> None:
        """Serve an ``APIRoute``'s request inside its operation spans. A checkpoint.

        Args:
            route: The ``APIRoute``.
            path: Its template with the mount prefixes: the ``http.route``.
            serve: Serves the request given the endpoint caller and this object.
        """
        self.route = path
        self.begin_dependencies(route.endpoint)
        error: BaseException | None = None
        try:
            await serve(partial(self.call_endpoint, route), self)
        except BaseException as exc:
            error = exc
            raise
        finally:
            self.end_dependencies(error)

    def begin_dependencies(self, function: Callable[..., Any]) -> None:
        """Open the ``trioapi.dependencies`` span: current until :meth:`end_dependencies`.

        It ends early, when the endpoint is called; dependencies' own spans
        and logs are its children.
        """
        if not self.settings.operation_spans:
            return
        span = self.settings.tracer.start_span(
            "trioapi.dependencies",
            context=self.server_context,
            attributes={"code.function.name": function_name(function)},
        )
        self._dependencies = span
        self._token = context.attach(trace.set_span_in_context(span, self.server_context))

    def end_dependencies(self, exc: BaseException | None) -> None:
        """Leave the dependencies span's context; a failure before the endpoint marks it."""
        span = self._dependencies
        if span is None:
            return
        self._dependencies = None
        if span.is_recording():
            if exc is not None:
                _failed(span, exc)
            span.end()
        context.detach(self._token)  # type: ignore[arg-type]

    async def call_endpoint(self, route: Any, kwargs: dict[str, Any]) -> Any:
        """Call ``route``'s endpoint inside the ``trioapi.endpoint`` span. A checkpoint.

        The dependencies span ends first. A ``def`` endpoint's span starts in
        its worker thread (Trio copies the context into it), as FastAPI's does.
        """
        span = self._dependencies
        if span is not None and span.is_recording():
            span.end()
        endpoint = route.endpoint
        if route.is_async_endpoint or route.is_stream_endpoint:
            with self.operation("trioapi.endpoint", endpoint):
                if route.is_stream_endpoint:
                    return endpoint(**kwargs)
                return await endpoint(**kwargs)
        return await run_in_threadpool(self._call_in_thread, endpoint, kwargs)

    def _call_in_thread(self, endpoint: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
        with self.operation("trioapi.endpoint", endpoint):
            return endpoint(**kwargs)
