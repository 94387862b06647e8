"""Errors that say what to do when trioapi meets the wrong event loop.

A trioapi app served on asyncio (plain ``hypercorn app:app``, ``uvicorn``,
httpx's ``ASGITransport`` under asyncio) would fail deep inside Trio with
``RuntimeError: must be called from async context``; an endpoint calling
``asyncio.sleep()`` on Trio fails with ``RuntimeError: no running event
loop``. This module turns the first into one clear error, at once, and adds a
hint to the log line of the second. It knows nothing of the app.
"""

from __future__ import annotations

import os
import sysconfig
import traceback

import trio

from trioapi._foreign import foreign_hint
from trioapi.exceptions import TrioAPIError
from trioapi.types import Receive, Scope, Send

WRONG_RUNTIME = (
    "trioapi runs on Trio: serve it with `hypercorn --worker-class trio` or `trioapi run` "
    "(it was called from {library}). In tests, use trioapi.testclient.TestClient or "
    "trioapi.testing.AsyncTestClient under pytest-trio."
)

ASYNCIO_HINT = (
    " (hint: this looks like an asyncio call in a trioapi app, which runs on Trio: use "
    "trio.sleep / trio.Event / trio.open_nursery, trio.to_thread.run_sync for blocking work, "
    "or reach an asyncio-only library through the asyncio bridge: TrioAPI(asyncio_bridge=True) "
    "and trioapi.asyncio_bridge.run_asyncio)"
)

_ASYNCIO_MESSAGES = ("no running event loop", "no current event loop")
# The standard library's asyncio package, not any path with an "asyncio" folder
# in it (a project checked out as .../asyncio/ would get the hint on every error).
_ASYNCIO_DIR = os.path.join(sysconfig.get_paths()["stdlib"], "asyncio", "")


class WrongRuntimeError(TrioAPIError):
    """The app was called from an event loop other than Trio's."""


def running_on_trio() -> bool:
    """Whether the caller runs inside ``trio.run`` (a Trio task or Trio's guest mode)."""
    try:
        trio.lowlevel.current_trio_token()
    except RuntimeError:
        return False
    return True


def _current_library() -> str:
    try:
        import sniffio

        return sniffio.current_async_library()
    except Exception:  # no sniffio, or no library it knows: say so
        return "an event loop other than Trio's"


async def refuse_wrong_runtime(scope: Scope, receive: Receive, send: Send) -> None:
    """Answer a call made outside Trio: fail the lifespan startup, or raise.

    A lifespan startup failure is what makes uvicorn and hypercorn's asyncio
    worker stop at once with the message, rather than serve requests that
    would all fail.

    Raises:
        WrongRuntimeError: for an HTTP or WebSocket call, and after the lifespan's answer.
    """
    message = WRONG_RUNTIME.format(library=_current_library())
    if scope["type"] == "lifespan":
        event = await receive()
        if event["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.failed", "message": message})
            return
    raise WrongRuntimeError(message)


def error_hint(error: BaseException) -> str:
    """A hint for the log line of ``error``: asyncio called on Trio, or a FastAPI exception.

    ``""`` for every other error.
    """
    if hint := foreign_hint(error):
        return hint
    if isinstance(error, RuntimeError) and any(text in str(error) for text in _ASYNCIO_MESSAGES):
        return ASYNCIO_HINT
    frames = traceback.extract_tb(error.__traceback__)
    if frames and frames[-1].filename.startswith(_ASYNCIO_DIR):
        return ASYNCIO_HINT
    return ""
