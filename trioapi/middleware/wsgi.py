"""Serve a WSGI application (Flask, Django, ...) from trioapi, on Trio.

``app.mount("/v1", WSGIMiddleware(flask_app))``. Each request runs the WSGI
app in one of trioapi's worker threads (the shared limiter of
:mod:`trioapi.concurrency`); the body it yields is streamed back to the event
loop through a small memory channel, so a slow client slows the WSGI app down
instead of letting the body pile up in memory.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

import trio

from trioapi._scopes import open_scope_nursery
from trioapi.concurrency import thread_limiter
from trioapi.types import Message, Receive, Scope, Send

__all__ = ["WSGIMiddleware"]

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]
StartResponse = Callable[..., Callable[[bytes], None]]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

# Body chunks in flight between the WSGI thread and the event loop.
_CHANNEL_SIZE = 8


class WSGIMiddleware:
    """An ASGI app that serves a WSGI app, running it in a worker thread.

    The request body is read whole before the WSGI app starts (WSGI reads it
    synchronously from ``wsgi.input``). The response body is sent as the app
    produces it. HTTP only: a WebSocket or lifespan scope raises.

    Args:
        app: The WSGI application.
    """

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one HTTP request. A checkpoint; cancellation waits for the thread
        to reach its next chunk of body, where it stops and closes the app's iterable."""
        if scope["type"] != "http":
            raise RuntimeError(
                f"WSGIMiddleware serves HTTP only, not {scope['type']!r} scopes. "
                "Mount it where only HTTP requests reach it."
            )
        body = await _read_body(receive)
        if body is None:
            return  # the client went away before sending the whole body
        environ = build_environ(scope, body)
        to_loop, from_thread = trio.open_memory_channel[Message](_CHANNEL_SIZE)
        responder = _Responder(self.app, environ, to_loop)
        failure: Exception | None = None
        async with open_scope_nursery() as nursery:
            nursery.start_soon(_forward, from_thread, send)
            async with to_loop:
                try:
                    await trio.to_thread.run_sync(responder.run, limiter=thread_limiter())
                except Exception as error:
                    # Raised once the forwarder has sent what the app sent
                    # before (its error response): leaving the nursery with
                    # the error would cancel the forwarder with messages queued.
                    failure = error
        if failure is not None:
            raise failure


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _forward(from_thread: trio.MemoryReceiveChannel[Message], send: Send) -> None:
    async with from_thread:
        async for message in from_thread:
            await send(message)


def _wsgi_str(value: str) -> str:
    # PEP 3333 "bytes as latin-1" strings: the UTF-8 bytes of the path, each
    # byte one character.
    return value.encode("utf-8").decode("latin-1")


def _path_info(scope: Scope) -> str:
    """The path after ``root_path``, so that SCRIPT_NAME + PATH_INFO is the path.

    A ``root_path`` ending in "/" takes its slash with it ("/app/" and
    "/app/users" give "users"); a path outside it is given whole.
    """
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "")
    if root_path and (path == root_path or path.startswith(root_path.rstrip("/") + "/")):
        return path[len(root_path) :]
    return path


def build_environ(scope: Scope, body: bytes) -> dict[str, Any]:
    """The PEP 3333 ``environ`` for an ASGI HTTP ``scope`` and its whole ``body``."""
    server = scope.get("server") or ("localhost", 80)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": _wsgi_str(scope.get("root_path", "")),
        "PATH_INFO": _wsgi_str(_path_info(scope)),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": server[0],
        "SERVER_PORT": str(server[1]) if server[1] is not None else "80",
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    client = scope.get("client")
    if client:
        environ["REMOTE_ADDR"] = client[0]
        environ["REMOTE_PORT"] = str(client[1])
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        value = raw_value.decode("latin-1")
        key = name if name in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{name}"
        # Repeated headers join with commas, as a proxy would fold them.
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ


class _Responder:
    """The WSGI side of one request; :meth:`run` runs in a worker thread."""

    def __init__(
        self, app: WSGIApp, environ: dict[str, Any], to_loop: trio.MemorySendChannel[Message]
    ) -> None:
        self.app = app
        self.environ = environ
        self.to_loop = to_loop
        self.start: Message | None = None
        self.started = False
        # An error the app reported with its (error) response: raised once
        # the response is sent, so the error is not lost behind the 500.
        self.reported_error: ExcInfo | None = None

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: ExcInfo | None = None
    ) -> Callable[[bytes], None]:
        if exc_info is not None and self.started:
            # PEP 3333: too late to change the status; re-raise the app's error.
            raise exc_info[1].with_traceback(exc_info[2])
        self.reported_error = exc_info
        self.start = {
            "type": "http.response.start",
            "status": int(status.split(" ", 1)[0]),
            "headers": [
                (name.strip().lower().encode("latin-1"), value.strip().encode("latin-1"))
                for name, value in headers
            ],
        }
        return self.write

    def write(self, data: bytes) -> None:
        """PEP 3333's legacy ``write()`` callable: send ``data`` now."""
        if data:
            self._send_body(data, more_body=True)

    def run(self) -> None:
        result = self.app(self.environ, self.start_response)
        try:
            for chunk in result:
                if chunk:
                    self._send_body(chunk, more_body=True)
            self._send_body(b"", more_body=False)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        if self.reported_error is not None:
            raise self.reported_error[1].with_traceback(self.reported_error[2])

    def _send_body(self, data: bytes, *, more_body: bool) -> None:
        if not self.started:
            if self.start is None:
                raise RuntimeError(
                    "The WSGI app returned a body without calling start_response(). "
                    "Call start_response(status, headers) before returning or yielding."
                )
            self.started = True
            self._to_loop(self.start)
        self._to_loop({"type": "http.response.body", "body": bytes(data), "more_body": more_body})

    def _to_loop(self, message: Message) -> None:
        # Blocks this thread while the channel is full (backpressure); raises
        # if the request was cancelled or the sender gave up, which ends run().
        trio.from_thread.run(self.to_loop.send, message)


def adopt_asyncio_wsgi_app(app: Any) -> Any:
    """Swap a2wsgi's asyncio-only ``WSGIMiddleware`` for this Trio one.

    FastAPI's docs mount WSGI apps with ``a2wsgi.WSGIMiddleware``, which needs
    an asyncio event loop and fails under Trio. ``TrioAPI.mount`` passes what
    it is given through here, so those apps run unchanged; anything else is
    returned as it is.
    """
    cls = type(app)
    if cls.__module__.split(".")[0] == "a2wsgi" and cls.__name__ == "WSGIMiddleware":
        wsgi_app = getattr(app, "app", None)
        if callable(wsgi_app):
            return WSGIMiddleware(wsgi_app)
    return app
