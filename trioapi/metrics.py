"""Prometheus metrics for a trioapi app, including what only a Trio server can count.

::

    from trioapi.metrics import instrument

    metrics = instrument(app)          # GET /metrics, in Prometheus' text format

Besides requests by route template, method and status, a latency histogram
and the requests in flight, it counts what structured concurrency makes
visible: requests **cancelled** because the client went away, because their
deadline (``timeout=``) passed, or because the server shut down; how long
the work **after the last response byte** took (background tasks and the
teardown of request-scoped dependencies); and the shared **thread limiter**
(threads busy, tasks waiting for one).

Needs the ``prometheus-client`` package (``pip install 'trioapi[metrics]'``).
Each worker process has its own figures: with ``trioapi run --workers N`` a
scrape reads the worker that answers it (see prometheus-client's
multiprocess mode to add them up).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from trioapi._exception_groups import is_cancellation
from trioapi._request_state import CancelReason
from trioapi._scopes import get_request_context
from trioapi.concurrency import thread_limiter
from trioapi.requests import Request
from trioapi.responses import Response
from trioapi.types import ASGIApp, Message, Receive, Scope, Send

try:
    import prometheus_client
    from prometheus_client.core import GaugeMetricFamily
except ModuleNotFoundError as exc:  # pragma: no cover - exercised in a subprocess
    raise ImportError(
        "trioapi.metrics needs prometheus-client, which is not installed. "
        "Install it with: pip install 'trioapi[metrics]' (or pip install prometheus-client)."
    ) from exc

if TYPE_CHECKING:
    from trioapi.applications import TrioAPI

__all__ = ["PrometheusMetrics", "PrometheusMiddleware", "instrument"]

UNMATCHED = "<unmatched>"
"""The route label of requests no route matched (so unknown paths add no label values)."""


class PrometheusMetrics:
    """The metrics of one app, registered in ``registry`` (a new one by default).

    Args:
        registry: where to register; pass ``prometheus_client.REGISTRY`` to
            share the process-wide one.
        prefix: the start of every metric name.
    """

    def __init__(
        self,
        registry: prometheus_client.CollectorRegistry | None = None,
        *,
        prefix: str = "trioapi",
    ) -> None:
        self.registry = registry if registry is not None else prometheus_client.CollectorRegistry()
        labels = ("method", "route", "status")
        self.requests = prometheus_client.Counter(
            f"{prefix}_requests", "HTTP requests answered.", labels, registry=self.registry
        )
        self.duration = prometheus_client.Histogram(
            f"{prefix}_request_duration_seconds",
            "Time from the request to the last response byte.",
            ("method", "route"),
            registry=self.registry,
        )
        self.in_flight = prometheus_client.Gauge(
            f"{prefix}_requests_in_flight", "HTTP requests being served.", registry=self.registry
        )
        self.cancelled = prometheus_client.Counter(
            f"{prefix}_requests_cancelled",
            "Requests cancelled before they finished, by reason: disconnect, deadline, "
            "send_timeout, invalid_response, shutdown.",
            ("reason", "route"),
            registry=self.registry,
        )
        self.after_response = prometheus_client.Histogram(
            f"{prefix}_after_response_seconds",
            "Time from the last response byte to the end of the request: background tasks "
            "and the teardown of request-scoped dependencies.",
            ("route",),
            buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0),
            registry=self.registry,
        )
        self.registry.register(_ThreadLimiterCollector(prefix))

    def render(self) -> bytes:
        """The registry in Prometheus' text format."""
        return prometheus_client.generate_latest(self.registry)

    async def endpoint(self, request: Request) -> Response:
        """The ``/metrics`` route's endpoint."""
        return Response(self.render(), media_type=prometheus_client.CONTENT_TYPE_LATEST)


class _ThreadLimiterCollector:
    """The shared thread limiter, read at each scrape (a scrape runs in the server's Trio loop)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            statistics = thread_limiter().statistics()
        except RuntimeError:  # read outside a Trio run: nothing to report
            return
        figures = (
            ("borrowed", "Worker threads in use.", statistics.borrowed_tokens),
            ("total", "Worker threads allowed.", statistics.total_tokens),
            ("waiting", "Tasks waiting for a worker thread.", statistics.tasks_waiting),
        )
        for name, text, value in figures:
            yield GaugeMetricFamily(f"{self.prefix}_thread_limiter_{name}", text, value=value)


class PrometheusMiddleware:
    """Counts each HTTP request of the app it wraps into a :class:`PrometheusMetrics`.

    Args:
        app: the ASGI app to wrap (added with ``app.add_middleware``).
        metrics: where to count.
        routes_of: the object whose ``routes`` name the route templates
            (the application); the endpoint that served a request finds its
            template there.
    """

    def __init__(self, app: ASGIApp, metrics: PrometheusMetrics, routes_of: Any = None) -> None:
        self.app = app
        self.metrics = metrics
        self.routes_of = routes_of
        self._templates: dict[int, str] = {}
        self._known_routes = -1

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request, then count it. A checkpoint; counts cancellation too."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        metrics = self.metrics
        started = time.perf_counter()
        sent: list[Any] = [None, None]  # status, time of the last body byte

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                sent[0] = message["status"]
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                sent[1] = time.perf_counter()

        metrics.in_flight.inc()
        try:
            await self.app(scope, receive, counting_send)
        except Exception:
            sent[0] = sent[0] or 500
            raise
        except BaseException as error:
            # BaseException: a cancellation may come as a group of them (a
            # streaming response's nursery); it is counted and re-raised.
            if is_cancellation(error):
                reason = _cancel_reason(scope)
                metrics.cancelled.labels(reason, self._route(scope)).inc()
                sent[0] = sent[0] or (504 if reason == "deadline" else 499)
            raise
        finally:
            metrics.in_flight.dec()
            self._count(scope, sent[0] or 500, started, sent[1])

    def _count(self, scope: Scope, status: int, started: float, last_byte: float | None) -> None:
        route, method = self._route(scope), scope["method"]
        self.metrics.requests.labels(method, route, str(status)).inc()
        finished = time.perf_counter()
        self.metrics.duration.labels(method, route).observe((last_byte or finished) - started)
        if last_byte is not None:
            self.metrics.after_response.labels(route).observe(finished - last_byte)

    def _route(self, scope: Scope) -> str:
        endpoint = scope.get("endpoint")
        if endpoint is None:
            return UNMATCHED
        routes = getattr(self.routes_of, "routes", ())
        if len(routes) != self._known_routes:  # routes added since: look again
            self._templates = dict(_templates(routes, ""))
            self._known_routes = len(routes)
        return self._templates.get(id(endpoint), UNMATCHED)


def _templates(routes: Any, prefix: str) -> Iterator[tuple[int, str]]:
    for route in routes:
        path = getattr(route, "path", None)
        if path is None:
            continue
        if getattr(route, "routes", None) and hasattr(route, "app"):  # a Mount
            yield from _templates(route.routes, prefix + path)
        elif (endpoint := getattr(route, "endpoint", None)) is not None:
            yield id(endpoint), prefix + path


def _cancel_reason(scope: Scope) -> str:
    """Why the request was cancelled (a ``CancelReason`` value): ``"disconnect"``,
    ``"deadline"``, ``"send_timeout"``, ``"invalid_response"`` or ``"shutdown"``."""
    context = get_request_context(scope)
    if context is None:
        return CancelReason.SHUTDOWN.value
    return context.why_cancelled().value


def instrument(
    app: TrioAPI, *, path: str = "/metrics", metrics: PrometheusMetrics | None = None
) -> PrometheusMetrics:
    """Count the app's requests and serve them at ``path`` (left out of the OpenAPI document).

    Returns:
        The metrics, for adding the app's own to ``metrics.registry``.
    """
    metrics = metrics if metrics is not None else PrometheusMetrics()
    app.add_middleware(PrometheusMiddleware, metrics=metrics, routes_of=app)
    app.add_route(path, metrics.endpoint, include_in_schema=False)
    return metrics
