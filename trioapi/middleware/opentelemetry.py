"""``OpenTelemetryMiddleware``: Starlette 1.10's server spans for any ASGI app.

The toolkit-level counterpart of ``TrioAPI(telemetry=...)``: one
``SERVER`` span per HTTP request, named ``"{method} {route}"`` from the
route the router really matched (``scope["route"]``), with the same
request attributes and trace-context extraction as trioapi's built-in
telemetry (``trioapi.telemetry``). It records spans only, as Starlette's
does: no metrics, logs or operation spans. Experimental in Starlette too.

Needs OpenTelemetry's API (``pip install 'trioapi[telemetry]'``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

try:
    from opentelemetry import context, metrics, propagate, trace
    from opentelemetry.trace import SpanKind, Status, StatusCode
except ImportError:  # pragma: no cover - exercised without the extra
    raise ImportError(
        "OpenTelemetryMiddleware needs the `opentelemetry-api` package: "
        "`pip install 'trioapi[telemetry]'`"
    ) from None

from trioapi.datastructures import URL
from trioapi.routing import Mount
from trioapi.telemetry._attributes import HEADER_GETTER, redact_query, server_authority
from trioapi.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["OpenTelemetryMiddleware"]

# Marks a request some OpenTelemetryMiddleware already handles (records or
# excludes): a nested one (a mounted app's, a second in the list) does nothing.
_MARK = "trioapi.opentelemetry"


def _route_of(scope: Scope) -> str | None:
    """The matched route's template, with its mount's path; ``None`` for routes without one."""
    route = scope.get("route")
    if isinstance(route, Mount):
        # Nothing inside the mount matched (or it serves a plain ASGI app).
        return scope.get("root_path") or "/"
    path_format = getattr(route, "path_format", None)
    if not isinstance(path_format, str):
        return None
    return str(scope.get("root_path", "")).rstrip("/") + path_format or "/"


def _attributes(scope: Scope, method: str) -> dict[str, Any]:
    original = scope.get("method", "")
    attributes: dict[str, Any] = {
        "http.request.method": method,
        "url.path": scope.get("path", ""),
        "url.scheme": scope.get("scheme", "http"),
    }
    if original != method:
        attributes["http.request.method_original"] = original
    query = scope.get("query_string", b"")
    if query:
        attributes["url.query"] = redact_query(query.decode("latin-1"))
    attributes.update(server_authority(scope))
    if scope.get("http_version"):
        attributes["network.protocol.version"] = scope["http_version"]
    if scope.get("client"):
        attributes["client.address"] = scope["client"][0]
    agent = HEADER_GETTER.get(scope.get("headers", ()), "user-agent")
    if agent:
        attributes["user_agent.original"] = agent[0]
    return attributes


class OpenTelemetryMiddleware:
    """Record an OpenTelemetry server span for each HTTP request.

    Experimental, as in Starlette: its API and what it records may change
    in a minor release.

    Args:
        app: The ASGI application to wrap.
        excluded_urls: Regular expressions searched in each request's full
            URL; a match is not recorded (nor by a nested middleware). A
            comma-separated string or a sequence; none by default.
        tracer_provider: Where spans go; the global provider by default (a
            provider set up later is followed through the API's proxy).
        meter_provider: Accepted as Starlette's is; no metrics are recorded.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        excluded_urls: str | Sequence[str] = (),
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
    ) -> None:
        self.app = app
        if isinstance(excluded_urls, str):
            excluded_urls = [p.strip() for p in excluded_urls.split(",")] if excluded_urls else []
        self._excluded = tuple(re.compile(pattern) for pattern in excluded_urls)
        self._provider = tracer_provider or trace.get_tracer_provider()
        self._meter_provider = meter_provider
        self._tracer: trace.Tracer | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request, inside its span unless excluded. A checkpoint."""
        if scope["type"] != "http" or scope.get(_MARK):
            await self.app(scope, receive, send)
            return
        scope[_MARK] = True
        try:
            if isinstance(self._provider, trace.NoOpTracerProvider) or self._is_excluded(scope):
                await self.app(scope, receive, send)
            else:
                await self._record(scope, receive, send)
        finally:
            del scope[_MARK]

    def _is_excluded(self, scope: Scope) -> bool:
        if not self._excluded:
            return False
        url = str(URL(scope=scope))
        return any(pattern.search(url) for pattern in self._excluded)

    async def _record(self, scope: Scope, receive: Receive, send: Send) -> None:
        tracer = self._tracer
        if tracer is None:  # asked on first use: a proxy provider may have been set up since
            tracer = self._tracer = self._provider.get_tracer("trioapi")
        method = str(scope.get("method", "")).upper()
        parent = propagate.extract(scope.get("headers", ()), getter=HEADER_GETTER)
        span = tracer.start_span(
            method, parent, kind=SpanKind.SERVER, attributes=_attributes(scope, method)
        )
        token = context.attach(trace.set_span_in_context(span, parent))

        async def send_recording(message: Message) -> None:
            if message["type"] == "http.response.start":
                status = message["status"]
                span.set_attribute("http.response.status_code", status)
                if status >= 500:
                    span.set_attribute("error.type", str(status))
                    span.set_status(Status(StatusCode.ERROR))
            await send(message)

        try:
            await self.app(scope, receive, send_recording)
        except Exception as exc:
            span.set_attribute("error.type", type(exc).__qualname__)
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
            raise
        finally:
            context.detach(token)
            route = _route_of(scope)
            if route is not None:
                span.update_name(f"{method} {route}")
                span.set_attribute("http.route", route)
            span.end()
