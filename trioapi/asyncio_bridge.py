"""The asyncio bridge: asyncio-only libraries awaited from Trio endpoints.

asyncpg, aiosqlite and SQLAlchemy's asyncio extension only run on an asyncio
event loop. An app that opts in gets one, from trio-asyncio (the optional
extra ``trioapi[asyncio]``), running inside Trio for as long as the app's
lifespan::

    app = TrioAPI(asyncio_bridge=True)

    @app.get("/users/{user_id}")
    async def read_user(user_id: int, pool: PoolDep):
        return await run_asyncio(pool.fetchrow, "select * from users where id = $1", user_id)

::

    lifespan (bridge opened first, closed last)
    ├─ asyncio loop (trio-asyncio)          asyncio tasks run here
    ├─ the app's own lifespan               may await asyncio code (create a pool)
    └─ every request                        run_asyncio() awaits on the loop
    at shutdown: requests finish (teardown included), the app's shutdown code
    runs, then the loop closes

Each request of the app runs as if inside ``trio_asyncio.open_loop()``, so
trio-asyncio's own adapters (``aio_as_trio``) work there too.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING, Any, ParamSpec, Protocol, TypeVar, overload

import trio

from trioapi.exceptions import TrioAPIError

if TYPE_CHECKING:
    from trioapi.types import Lifespan

__all__ = ["AsyncioBridge", "AsyncioBridgeError", "open_asyncio_bridge", "run_asyncio"]

P = ParamSpec("P")
T = TypeVar("T")

logger = logging.getLogger("trioapi")

# Seconds the loop waits at shutdown for requests that still use it (a test
# client's streamed response left open); hypercorn has ended them all by then.
DRAIN_GRACE = 5.0
INSTALL_HINT = "pip install 'trioapi[asyncio]'"


class AsyncioBridgeError(TrioAPIError):
    """asyncio code was awaited through the bridge where no bridge loop is open."""


def _trio_asyncio() -> Any:
    """The ``trio_asyncio`` module, imported on first use (it patches asyncio when imported)."""
    try:
        return importlib.import_module("trio_asyncio")
    except ImportError as exc:
        raise AsyncioBridgeError(
            f"The asyncio bridge needs trio-asyncio, which is not installed ({exc}). "
            f"Install the extra: {INSTALL_HINT}."
        ) from exc


def _loop_var() -> ContextVar[Any] | None:
    """trio-asyncio's "current loop" context variable, or None when it was never imported."""
    module = sys.modules.get("trio_asyncio")
    return getattr(module, "current_loop", None)


class AsyncioBridge:
    """The asyncio loop of one app, open as long as the app's lifespan.

    ``TrioAPI(asyncio_bridge=True)`` makes one and opens it around the
    lifespan; :func:`open_asyncio_bridge` opens it from inside a lifespan.
    While it is open every request of the app sees its loop.
    """

    def __init__(self) -> None:
        self.loop: Any = None
        self._loop_var: ContextVar[Any] | None = None
        self._requests = 0
        self._idle: trio.Event | None = None
        self._drain_deadline: float | None = None

    @property
    def is_open(self) -> bool:
        """Whether the loop is running and new requests are given it."""
        return self.loop is not None

    @asynccontextmanager
    async def open(self) -> AsyncIterator[AsyncioBridge]:
        """Run the asyncio loop for the block. A checkpoint.

        On the way out the loop waits (at most :data:`DRAIN_GRACE` seconds,
        shielded) for the requests that still use it, then cancels the asyncio
        tasks left and closes.
        """
        trio_asyncio = _trio_asyncio()
        self._loop_var = trio_asyncio.current_loop
        self._drain_deadline = None
        async with trio_asyncio.open_loop() as loop:
            self.loop = loop
            try:
                yield self
                if not await self.wait_idle():
                    logger.warning(
                        "The asyncio loop closes with %d request(s) still using it", self._requests
                    )
            finally:
                self.loop = None

    async def wait_idle(self) -> bool:
        """Wait until no request uses the loop; whether none does. Shielded.

        Every wait of one shutdown shares one grace period, :data:`DRAIN_GRACE`.
        """
        if self._drain_deadline is None:
            self._drain_deadline = trio.current_time() + DRAIN_GRACE
        # Shielded: at shutdown the lifespan may already be cancelled, and a
        # request's teardown still needs the loop it is awaiting on.
        with trio.move_on_at(self._drain_deadline, shield=True):
            while self._requests:
                self._idle = trio.Event()
                await self._idle.wait()
        return not self._requests

    def enter_request(self) -> Token[Any] | None:
        """Give the calling task the loop until :meth:`exit_request`; ``None`` when closed."""
        loop = self.loop
        if loop is None or self._loop_var is None:
            return None
        self._requests += 1
        return self._loop_var.set(loop)

    def exit_request(self, token: Token[Any]) -> None:
        """Undo :meth:`enter_request` once the request (teardown included) is over."""
        token.var.reset(token)
        self._requests -= 1
        if not self._requests and self._idle is not None:
            self._idle.set()

    def wrap_lifespan(self, lifespan: Lifespan) -> Lifespan:
        """``lifespan`` with the loop opened before its startup and closed after its shutdown.

        The app's shutdown code runs once the requests still in flight are over.
        """

        @asynccontextmanager
        async def lifespan_with_loop(app: Any) -> AsyncIterator[Any]:
            async with self.open(), lifespan(app) as state:
                yield state
                await self.wait_idle()

        return lifespan_with_loop


class BridgedApp(Protocol):
    """An app that may own an asyncio bridge: a ``TrioAPI`` or ``Starlette`` app.

    A protocol rather than the app class: the app classes import this module.
    """

    asyncio_bridge: AsyncioBridge | None


@asynccontextmanager
async def open_asyncio_bridge(app: BridgedApp) -> AsyncIterator[AsyncioBridge]:
    """Open ``app``'s asyncio bridge for the block: use it inside the app's lifespan.

    ::

        @asynccontextmanager
        async def lifespan(app):
            async with open_asyncio_bridge(app):
                pool = await run_asyncio(asyncpg.create_pool, DATABASE_URL)
                yield {"pool": pool}
                await run_asyncio(pool.close)

    The block and every request served while it is open can await asyncio
    code with :func:`run_asyncio`. If the app already opened its bridge
    (``TrioAPI(asyncio_bridge=True)``) this uses that one.
    """
    bridge = app.asyncio_bridge
    if bridge is None:
        bridge = app.asyncio_bridge = AsyncioBridge()
    if bridge.is_open:
        yield bridge
        return
    async with bridge.open():
        yield bridge


async def _call(async_fn: Callable[..., Awaitable[T]], args: Any, kwargs: Any) -> T:
    # Called on the loop, so that whatever async_fn does before its first
    # await (asyncio.get_running_loop(), creating futures) happens in asyncio.
    return await async_fn(*args, **kwargs)


async def _await(awaitable: Awaitable[T]) -> T:
    return await awaitable


@overload
async def run_asyncio(
    async_fn: Callable[P, Awaitable[T]], /, *args: P.args, **kwargs: P.kwargs
) -> T: ...
@overload
async def run_asyncio(async_fn: Awaitable[T], /) -> T: ...
async def run_asyncio(async_fn: Any, /, *args: Any, **kwargs: Any) -> Any:
    """Await asyncio code on the app's asyncio loop and return its result.

    ``await run_asyncio(session.get, User, 1)`` calls ``session.get(User, 1)``
    as an asyncio task on the bridge's loop; ``await run_asyncio(coro)`` takes
    an awaitable made beforehand too. Errors come out as they are raised.

    A checkpoint. Cancelling the caller (a deadline, a client that went away)
    cancels the asyncio task, which sees ``asyncio.CancelledError``; the call
    waits for that task to finish (so a driver's own cancel, like asyncpg's
    cancel request to the server, is complete) and then raises
    ``trio.Cancelled``.

    Raises:
        AsyncioBridgeError: No bridge loop is open for this call: the app did
            not opt in, or its lifespan is not running.
    """
    var = _loop_var()
    loop = None if var is None else var.get()
    if loop is None or loop.is_closed():
        _close_unawaited(async_fn)
        raise AsyncioBridgeError(_no_loop_message(async_fn, closed=loop is not None))
    coroutine = _call(async_fn, args, kwargs) if callable(async_fn) else _await(async_fn)
    return await loop.run_aio_coroutine(coroutine)


def _close_unawaited(awaitable: Any) -> None:
    # A coroutine that will never run: close it so Python does not warn
    # "coroutine was never awaited" on top of the real error.
    if inspect.iscoroutine(awaitable):
        awaitable.close()


def _no_loop_message(async_fn: Any, *, closed: bool) -> str:
    target = getattr(async_fn, "__qualname__", None) or type(async_fn).__qualname__
    target = target.rpartition("<locals>.")[2]  # fetch_rows, not make_app.<locals>.fetch_rows
    if closed:
        return (
            f"run_asyncio({target}): the app's asyncio bridge has closed (its lifespan ended), "
            "so no asyncio code can run. Await asyncio code only while the app is served."
        )
    return (
        f"run_asyncio({target}): no asyncio bridge is open for this call, so asyncio code "
        "cannot run under Trio. Opt in with TrioAPI(asyncio_bridge=True), or with "
        f"`async with open_asyncio_bridge(app):` in the lifespan ({INSTALL_HINT}); the loop "
        "lives as long as the lifespan, so a test client must run it (`with TestClient(app)`)."
    )
