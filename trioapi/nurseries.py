"""Request-time helpers to inject: the request's scope, its nursery, the app's nursery.

Each public name is an ``Annotated`` type that carries its own ``Depends``,
so a parameter annotated with it is filled in by trioapi::

    from trioapi.nurseries import AppNursery, RequestNursery, RequestScope

    async def backend(scope: RequestScope) -> Backend:
        return Backend(timeout=scope.remaining())   # seconds left before the deadline

    @app.post("/orders")
    async def create(order: Order, nursery: RequestNursery, app_nursery: AppNursery):
        nursery.start_soon(write_audit_log, order)    # finishes before the request ends
        app_nursery.start_soon(warm_cache, order.id)  # runs on until shutdown at most

- :data:`RequestScope` gives the request's deadline (``remaining()``,
  ``deadline``, ``set_timeout()``), its id and whether the client left.
- :data:`RequestNursery` is the request's own nursery: the request does not
  end until its tasks have finished; the request's deadline, or the client
  going away, cancels them while the response has not been sent.
- :data:`AppNursery` is the lifespan's nursery: its tasks run until the
  server shuts down, then they are cancelled and awaited before the code
  after the lifespan's ``yield`` runs. Requesting it while no lifespan runs
  is an error (500).
"""

from __future__ import annotations

from typing import Annotated

import trio

from trioapi._scopes import RequestContext, get_request_context
from trioapi.dependencies.models import Dependant
from trioapi.params import Depends
from trioapi.requests import HTTPConnection

__all__ = ["AppNursery", "RequestNursery", "RequestScope", "RequestScopeInfo"]


class RequestScopeInfo:
    """The request's scope as a dependency or endpoint sees it (inject :data:`RequestScope`)."""

    __slots__ = ("_context",)

    def __init__(self, context: RequestContext) -> None:
        self._context = context

    def remaining(self) -> float:
        """Seconds left before the request's deadline; ``math.inf`` when it has none."""
        return self._context.remaining_time()

    @property
    def deadline(self) -> float:
        """The deadline as an absolute ``trio.current_time()``; ``math.inf`` when none."""
        return trio.current_time() + self._context.remaining_time()

    def set_timeout(self, seconds: float | None) -> None:
        """Give the request a deadline ``seconds`` after it started (``None`` lifts it)."""
        self._context.set_timeout(seconds)

    @property
    def request_id(self) -> str:
        """The id trioapi's log lines give this request (its ``X-Request-ID``, else random)."""
        return self._context.request_id

    @property
    def client_disconnected(self) -> bool:
        """Whether the client has gone away."""
        return self._context.client_disconnected

    @property
    def nursery(self) -> trio.Nursery:
        """The request's nursery (what :data:`RequestNursery` injects)."""
        nursery = self._context.request_nursery
        if nursery is None:  # pragma: no cover - set before the app is called
            raise RuntimeError("The request nursery is not open yet.")
        return nursery


def _context_of(connection: HTTPConnection, wanted: str) -> RequestContext:
    context = get_request_context(connection.scope)
    if context is None:
        raise RuntimeError(
            f"{wanted} is only available to requests served by a TrioAPI application; this "
            "request reached the route without passing through TrioAPI.__call__. Mount the "
            "routes on a TrioAPI app."
        )
    return context


async def _get_request_scope(connection: HTTPConnection) -> RequestScopeInfo:
    return RequestScopeInfo(_context_of(connection, "RequestScope"))


async def _get_request_nursery(connection: HTTPConnection) -> trio.Nursery:
    return RequestScopeInfo(_context_of(connection, "RequestNursery")).nursery


async def _get_app_nursery(connection: HTTPConnection) -> trio.Nursery:
    nursery = _context_of(connection, "AppNursery").app_nursery
    if nursery is None:
        raise RuntimeError(
            "AppNursery was requested, but the application's lifespan is not running, so "
            "there is no application nursery. Serve the app with a server that runs the "
            "lifespan (hypercorn does), or use `async with TestClient(app)` in tests."
        )
    return nursery


# These return at once: the planner runs them in the request's own task
# instead of starting a concurrent task for each (see dependencies/plan.py).
for _provider in (_get_request_scope, _get_request_nursery, _get_app_nursery):
    setattr(_provider, "__trioapi_instant__", True)  # noqa: B010  # a marker read by the planner


def needs_request_nursery(dependant: Dependant) -> bool:
    """Whether a route's dependencies inject the request nursery (or the scope that gives it).

    Such a route opens the nursery (see ``trioapi._scopes.open_request_nursery``);
    the others run without one.
    """
    return any(
        sub.call in (_get_request_nursery, _get_request_scope) for sub in dependant.iter_tree()
    )


RequestScope = Annotated[RequestScopeInfo, Depends(_get_request_scope)]
"""Inject the request's :class:`RequestScopeInfo`: deadline, id, disconnect state."""

RequestNursery = Annotated[trio.Nursery, Depends(_get_request_nursery)]
"""Inject the request's nursery: its tasks finish (or are cancelled) before the request ends."""

AppNursery = Annotated[trio.Nursery, Depends(_get_app_nursery)]
"""Inject the lifespan's nursery: its tasks run until shutdown, then are cancelled and awaited."""
