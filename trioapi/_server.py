"""Keep hypercorn's trio worker alive: a version-guarded fix for a send race.

hypercorn 0.17/0.18's trio ``TCPServer`` serialises ``send_all`` calls with a
``trio.Lock`` (``send_lock``) but its ``_close()`` calls ``stream.send_eof()``
without taking that lock. Trio's ``SocketStream.send_eof()`` holds the
stream's send conflict detector across a checkpoint, so a task that already
holds ``send_lock`` and enters ``send_all()`` during that checkpoint gets
``trio.BusyResourceError``. ``protocol_send`` does not catch it; when the
sender is the HTTP/2 send task or the connection's read task (sending a 400
for a malformed HTTP/1.1 body), the error escapes the connection's nursery
and ends the whole worker. See ``docs/hypercorn-bug-report.md``.

The fix replaces ``TCPServer._close`` with :func:`_close_with_send_lock`,
which sends EOF only while holding ``send_lock``; if another task holds the
lock, it skips the EOF (as the original did after catching
``BusyResourceError``) and closes the stream, which makes that task's
``send_all`` fail with ``ClosedResourceError``, an error hypercorn handles.
"""

from __future__ import annotations

import importlib.metadata
import sys
from typing import Any

import trio

TCP_SERVER_MODULE = "hypercorn.trio.tcp_server"
# Releases whose trio TCPServer._close() sends EOF outside send_lock. Checked
# by reading and running 0.18.0; 0.17 ships the same TCPServer. A release
# outside this set is left alone until someone checks it.
AFFECTED_RELEASES = ("0.17.", "0.18.")

_PATCH_MARK = "__trioapi_patched__"


def hypercorn_needs_patch(version: str | None = None) -> bool:
    """Whether this hypercorn release has the ``send_eof`` race (see module docstring)."""
    if version is None:
        try:
            version = importlib.metadata.version("hypercorn")
        except importlib.metadata.PackageNotFoundError:
            return False
    return version.startswith(AFFECTED_RELEASES)


def is_hypercorn_patched() -> bool:
    """Whether :func:`patch_hypercorn` has replaced ``TCPServer._close`` in this process."""
    module = sys.modules.get(TCP_SERVER_MODULE)
    if module is None:
        return False
    return bool(getattr(module.TCPServer._close, _PATCH_MARK, False))


def patch_hypercorn() -> bool:
    """Fix hypercorn's trio worker send race in this process, if its release needs it.

    Idempotent and cheap. Called by ``trioapi run``/``trioapi dev`` before
    serving, and by :class:`~trioapi.TrioAPI` at lifespan startup when
    hypercorn's trio worker is loaded (hypercorn runs the lifespan before it
    accepts the first connection).

    Returns:
        ``True`` if the fix is in place after the call, ``False`` when this
        hypercorn release is not known to need it (nothing is changed).
    """
    if not hypercorn_needs_patch():
        return False
    from hypercorn.trio import tcp_server

    server_class: Any = tcp_server.TCPServer
    if getattr(server_class._close, _PATCH_MARK, False):
        return True
    if not hasattr(server_class, "protocol_send"):
        # Not the shape this fix was written against: leave it alone.
        return False
    # Kept so the race can be shown against the original (tests, bug report).
    server_class.__trioapi_original_close__ = server_class._close
    server_class._close = _close_with_send_lock
    return True


def patch_hypercorn_if_loaded() -> bool:
    """:func:`patch_hypercorn`, but only when hypercorn's trio worker is already imported.

    Costs nothing (no import) in processes that are not served by it, such
    as test runs with ``TestClient``.
    """
    if TCP_SERVER_MODULE not in sys.modules:
        return False
    return patch_hypercorn()


# Errors send_eof() raises when the peer or another task already closed the
# stream; AttributeError: an SSL stream has no send_eof().
_EOF_ERRORS = (
    trio.BrokenResourceError,
    trio.ClosedResourceError,
    trio.BusyResourceError,
    AttributeError,
)


async def _close_with_send_lock(self: Any) -> None:
    """``TCPServer._close`` that never lets ``send_eof`` overlap another task's ``send_all``."""
    lock: trio.Lock | None = getattr(self, "send_lock", None)
    try:
        if lock is None or lock.locked():
            # Another task is sending (or holds the lock to send): closing the
            # stream below interrupts it with ClosedResourceError, which
            # protocol_send handles. Sending EOF first would race with it.
            pass
        else:
            lock.acquire_nowait()
            try:
                await self.stream.send_eof()
            except _EOF_ERRORS:
                pass
            finally:
                lock.release()
    finally:
        # Always release the socket, even if cancelled at send_eof's checkpoint.
        await self.stream.aclose()


_close_with_send_lock.__trioapi_patched__ = True  # type: ignore[attr-defined]
