"""The incoming side of one HTTP call: :class:`HTTPConnection` and :class:`Request`.

A ``Request`` is a thin view over the ASGI scope. Anything read from the
body (the bytes, the parsed form) is cached both on the object and in the
scope, so a middleware and the endpoint, each with its own ``Request`` over
the same scope, read the body once between them.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Generator, Iterable, Iterator, Mapping
from types import TracebackType
from typing import Any, NoReturn

import trio

from trioapi._extensions import send_early_hints
from trioapi._scopes import get_request_context
from trioapi._settings import DEFAULT_LIMITS, form_limits
from trioapi.datastructures import URL, Address, FormData, Headers, QueryParams, State
from trioapi.exceptions import HTTPException
from trioapi.types import Message, Receive, Scope, Send

__all__ = [
    "ClientDisconnect",
    "HTTPConnection",
    "Request",
    "cookie_parser",
    "empty_receive",
    "empty_send",
]

# Private scope keys: the body and form, shared by every Request over one scope.
_BODY_KEY = "trioapi.request_body"
_FORM_KEY = "trioapi.request_form"

# Headers a server push copies from the request that triggered it.
_PUSH_HEADERS = ("accept", "accept-encoding", "accept-language", "cache-control", "user-agent")

# How long is_disconnected() lets a receive take to hand over a ready message.
_DISCONNECT_POLL = 0.001
# The multipart limits of a request served outside TrioAPI (no request context).
_DEFAULT_FORM_LIMITS = form_limits(DEFAULT_LIMITS)

_COOKIE_ESCAPE = re.compile(r"\\(?:([0-3][0-7][0-7])|(.))")


class ClientDisconnect(Exception):
    """The client went away before the request body was fully read."""


def _unquote_cookie_value(value: str) -> str:
    """Undo the double-quoting a cookie value may carry (``"a\\"b"`` -> ``a"b``)."""
    if len(value) < 2 or value[0] != '"' or value[-1] != '"':
        return value

    def replace(match: re.Match[str]) -> str:
        octal, char = match.group(1), match.group(2)
        return chr(int(octal, 8)) if octal is not None else char

    return _COOKIE_ESCAPE.sub(replace, value[1:-1])


def parse_cookie_header(cookie_string: str) -> dict[str, str]:
    """Parse a ``Cookie`` header the lenient way browsers send it; never raises.

    Pairs are split on ``;``; a chunk without ``=`` is a value with an empty
    name; later duplicates win.
    """
    cookies: dict[str, str] = {}
    for chunk in cookie_string.split(";"):
        key, sep, value = chunk.partition("=")
        if not sep:
            key, value = "", key
        key, value = key.strip(), value.strip()
        if key or value:
            cookies[key] = _unquote_cookie_value(value)
    return cookies


def _media_type(content_type: str) -> str:
    """``multipart/form-data`` from ``Multipart/Form-Data; boundary=x``."""
    return content_type.split(";", 1)[0].strip().lower()


class HTTPConnection(Mapping[str, Any]):
    """What HTTP requests and WebSocket connections share: URL, headers, client, state.

    It is also a read-only mapping over the ASGI scope.

    Args:
        scope: the ASGI scope, of type ``"http"`` or ``"websocket"``.
        receive: the ASGI receive callable, if the connection needs one.
    """

    # Worked out on first use. Class-level defaults: a connection is made for
    # every request, and most requests read none of them.
    _url: URL | None = None
    _base_url: URL | None = None
    _headers: Headers | None = None
    _query_params: QueryParams | None = None
    _cookies: dict[str, str] | None = None
    _state: State | None = None

    def __init__(self, scope: Scope, receive: Receive | None = None) -> None:
        if scope["type"] not in ("http", "websocket"):
            raise ValueError(
                f"HTTPConnection needs an 'http' or 'websocket' scope, got {scope['type']!r}."
            )
        self.scope = scope

    def __getitem__(self, key: str) -> Any:
        return self.scope[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.scope)

    def __len__(self) -> int:
        return len(self.scope)

    # A connection is equal only to itself, even if two share a scope.
    __eq__ = object.__eq__
    __hash__ = object.__hash__

    @property
    def app(self) -> Any:
        """The application that received this connection (``scope["app"]``)."""
        return self.scope["app"]

    @property
    def url(self) -> URL:
        """The full URL the client asked for."""
        if self._url is None:
            self._url = URL(scope=self.scope)
        return self._url

    @property
    def base_url(self) -> URL:
        """``scheme://host`` plus the root path the app is mounted at, ending in ``/``."""
        if self._base_url is None:
            root_path: str = self.scope.get("app_root_path", self.scope.get("root_path", ""))
            path = root_path if root_path.endswith("/") else root_path + "/"
            base_scope = dict(self.scope)
            base_scope.update(path=path, query_string=b"")
            self._base_url = URL(scope=base_scope)
        return self._base_url

    @property
    def headers(self) -> Headers:
        """The request headers (case-insensitive, read-only)."""
        if self._headers is None:
            self._headers = Headers(scope=self.scope)
        return self._headers

    @property
    def query_params(self) -> QueryParams:
        """The parsed query string."""
        if self._query_params is None:
            self._query_params = QueryParams(self.scope.get("query_string", b""))
        return self._query_params

    @property
    def path_params(self) -> dict[str, Any]:
        """The values the router matched in the path."""
        params: dict[str, Any] = self.scope.get("path_params", {})
        return params

    @property
    def cookies(self) -> dict[str, str]:
        """The cookies from the ``Cookie`` headers (malformed pairs are skipped, never raised).

        HTTP/2 and HTTP/3 clients may split cookies over several ``Cookie``
        headers; all are read, a later value of a name winning.
        """
        if self._cookies is None:
            cookies: dict[str, str] = {}
            for header in self.headers.getlist("cookie"):
                cookies.update(parse_cookie_header(header))
            self._cookies = cookies
        return self._cookies

    @property
    def client(self) -> Address | None:
        """The client's ``(host, port)``, or ``None`` if the server did not say."""
        client = self.scope.get("client")
        if client is None:
            return None
        host, port = client
        return Address(host, port)

    @property
    def session(self) -> dict[str, Any]:
        """The session dict that ``SessionMiddleware`` keeps.

        Raises:
            AssertionError: ``SessionMiddleware`` is not installed (Starlette's type).
        """
        if "session" not in self.scope:
            raise AssertionError("SessionMiddleware must be installed to access request.session")
        session: dict[str, Any] = self.scope["session"]
        # SessionMiddleware's Session notes the read, so the response gets Vary: Cookie.
        mark_accessed = getattr(session, "mark_accessed", None)
        if mark_accessed is not None:
            mark_accessed()
        return session

    @property
    def auth(self) -> Any:
        """The credentials ``AuthenticationMiddleware`` found.

        Raises:
            AssertionError: ``AuthenticationMiddleware`` is not installed.
        """
        if "auth" not in self.scope:
            raise AssertionError(
                "AuthenticationMiddleware must be installed to access request.auth"
            )
        return self.scope["auth"]

    @property
    def user(self) -> Any:
        """The user ``AuthenticationMiddleware`` found.

        Raises:
            AssertionError: ``AuthenticationMiddleware`` is not installed.
        """
        if "user" not in self.scope:
            raise AssertionError(
                "AuthenticationMiddleware must be installed to access request.user"
            )
        return self.scope["user"]

    @property
    def state(self) -> State:
        """Free-form per-request state, shared by everything that sees this scope."""
        if self._state is None:
            self._state = State(self.scope.setdefault("state", {}))
        return self._state

    def url_for(self, name: str, /, **path_params: Any) -> URL:
        """The absolute URL of the route called ``name``, filled with ``path_params``.

        Raises:
            NoMatchFound: no route has that name and those parameters.
            RuntimeError: the request is served neither by an app nor by a router.
        """
        router = self.scope.get("router") or self.scope.get("app")
        if router is None:
            raise RuntimeError(
                "The `url_for` method can only be used inside a Starlette application or "
                "with a router: the scope has neither 'router' nor 'app'. Serve the "
                "endpoint from a TrioAPI app or a Router."
            )
        url_path = router.url_path_for(name, **path_params)
        absolute: URL = url_path.make_absolute_url(self.base_url)
        return absolute


def cookie_parser(cookie_string: str) -> dict[str, str]:
    """Starlette's name for :func:`parse_cookie_header`."""
    return parse_cookie_header(cookie_string)


async def empty_receive() -> NoReturn:
    """The ``receive`` of a ``Request`` built without one: reading the body is an error."""
    raise RuntimeError("Receive channel has not been made available")


async def empty_send(message: Message) -> NoReturn:
    """The ``send`` of a ``Request`` built without one: sending is an error."""
    raise RuntimeError("Send channel has not been made available")


class _BodyStream:
    """What :meth:`Request.stream` returns: the body's chunks, then ``b""``."""

    __slots__ = ("_cached", "_done", "_request")

    def __init__(self, request: Request) -> None:
        self._request = request
        # What is left to give of a body that body() already read, once known.
        self._cached: list[bytes] | None = None
        self._done = False

    def __aiter__(self) -> _BodyStream:
        return self

    async def __anext__(self) -> bytes:
        if self._done:
            raise StopAsyncIteration
        request = self._request
        if self._cached is None:
            if _BODY_KEY in request.scope:
                self._cached = [request.scope[_BODY_KEY], b""]
            elif request._stream_consumed:
                self._done = True
                raise RuntimeError("Stream consumed")
            else:
                self._cached = []
        if self._cached:
            chunk = self._cached.pop(0)
            self._done = not self._cached
            return chunk
        while not request._stream_consumed:
            chunk = await request._next_chunk()
            if chunk:
                return chunk
        self._done = True
        return b""

    async def aclose(self) -> None:
        """Stop iterating; what is left of the body stays unread. Not a checkpoint."""
        self._done = True


class Request(HTTPConnection):
    """An HTTP request: the connection plus its method and body.

    Args:
        scope: the ASGI ``"http"`` scope.
        receive: the ASGI receive callable the body is read from.
        send: the ASGI send callable (used only for server push).
    """

    # Until the body is read (class-level defaults, as HTTPConnection's).
    _stream_consumed = False
    _is_disconnected = False
    _json: Any = None
    _has_json = False

    def __init__(
        self, scope: Scope, receive: Receive = empty_receive, send: Send = empty_send
    ) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Request needs an 'http' scope, got {scope['type']!r}.")
        # HTTPConnection.__init__'s work (its type check is the one above).
        self.scope = scope
        self._receive = receive
        self._send = send
        # Body messages that is_disconnected() read while polling; stream() replays them.
        self._pending: list[Message] = []

    @property
    def method(self) -> str:
        """The HTTP method, upper case."""
        method: str = self.scope["method"]
        return method

    @property
    def receive(self) -> Receive:
        """The ASGI receive callable."""
        return self._receive

    async def _next_message(self) -> Message:
        if self._pending:
            return self._pending.pop(0)
        return await self._receive()

    def stream(self) -> AsyncIterator[bytes]:
        """The body in chunks as they arrive, then ``b""``: ``async for chunk in request.stream()``.

        A checkpoint at each chunk. If :meth:`body` already ran, the cached body
        is yielded instead. A plain async iterator rather than an async
        generator: a loop over it that a deadline or a disconnect cancels
        leaves nothing behind to finalize.

        Raises:
            RuntimeError: the stream was already consumed.
            ClientDisconnect: the client left before the body was complete.
        """
        return _BodyStream(self)

    async def _next_chunk(self) -> bytes:
        """The next piece of the body (maybe empty); marks the stream consumed at its end."""
        while True:
            message = await self._next_message()
            if message["type"] == "http.request":
                if not message.get("more_body", False):
                    self._stream_consumed = True
                chunk: bytes = message.get("body", b"")
                return chunk
            if message["type"] == "http.disconnect":
                self._is_disconnected = True
                raise ClientDisconnect()

    async def body(self) -> bytes:
        """The whole body, read once and cached. A checkpoint until the body is in.

        Raises:
            ClientDisconnect: the client left before the body was complete.
        """
        if _BODY_KEY not in self.scope:
            # Read directly rather than through stream(): an async generator
            # costs more per request than reading a small body does.
            if self._stream_consumed:
                raise RuntimeError("Stream consumed")
            chunks = []
            while not self._stream_consumed:
                # _next_chunk() inlined: two frames per message for a small body.
                message = self._pending.pop(0) if self._pending else await self._receive()
                if message["type"] == "http.request":
                    if not message.get("more_body", False):
                        self._stream_consumed = True
                    chunks.append(message.get("body", b""))
                elif message["type"] == "http.disconnect":
                    self._is_disconnected = True
                    raise ClientDisconnect()
            self.scope[_BODY_KEY] = b"".join(chunks)
        body: bytes = self.scope[_BODY_KEY]
        return body

    async def json(self) -> Any:
        """The body decoded as JSON, cached.

        Raises:
            json.JSONDecodeError: the body is not valid JSON.
        """
        if not self._has_json:
            self._json = json.loads(await self.body())
            self._has_json = True
        return self._json

    def form(
        self,
        *,
        max_files: int | float | None = None,
        max_fields: int | float | None = None,
        max_part_size: int | None = None,
        max_header_count: int | None = None,
        max_header_size: int | None = None,
    ) -> _FormCall:
        """The parsed form: ``await request.form()`` or ``async with request.form() as form:``.

        The context-manager form closes the uploaded files on exit. Either way
        they are closed when the request ends (under TrioAPI). The first call's
        limits win: the form is parsed once and cached. Each limit is checked
        while the body is read, so a body over one is refused without being
        read to its end.

        Args:
            max_files: Most file parts of a multipart body. Not given: the
                route's, router's or app's ``max_form_files`` (1000 outside
                TrioAPI).
            max_fields: Most non-file parts of a multipart body, or fields of
                a URL-encoded one; not given: ``max_form_fields`` as above (1000).
            max_part_size: Largest non-file part of a multipart body, or field
                of a URL-encoded one, in bytes; not given:
                ``max_form_part_size`` as above (1 MiB).
            max_header_count: Most headers in one multipart part; not given:
                ``max_form_header_count`` as above (8).
            max_header_size: Longest header line of a multipart part in bytes;
                not given: ``max_form_header_size`` as above (4224).

        Raises:
            HTTPException: 400 for a malformed form body or one over the limits,
                inside an application.
            MultiPartException: the same, outside an application (no ``scope["app"]``).
            ClientDisconnect: the client left before the body was complete.
        """
        return _FormCall(
            self, (max_files, max_fields, max_part_size, max_header_count, max_header_size)
        )

    async def _get_form(self, given: tuple[float | None, ...]) -> FormData:
        cached: FormData | None = self.scope.get(_FORM_KEY)
        if cached is not None:
            return cached
        # Imported on first use: python-multipart is needed only by apps that
        # read forms, and the typed layer says so clearly at registration.
        from trioapi.formparsers import FormParser, MultiPartException, MultiPartParser

        content_type = _media_type(self.headers.get("content-type", ""))
        context = get_request_context(self.scope)
        # Explicit arguments win over the limits the request's route set.
        defaults = _DEFAULT_FORM_LIMITS if context is None else form_limits(context.limits)
        files, fields, part_size, header_count, header_size = (
            default if value is None else value
            for default, value in zip(defaults, given, strict=True)
        )
        try:
            if content_type == "multipart/form-data":
                form = await MultiPartParser(
                    self.headers,
                    self.stream(),
                    max_files=files,
                    max_fields=fields,
                    max_part_size=part_size,
                    max_header_count=header_count,
                    max_header_size=header_size,
                ).parse()
            elif content_type == "application/x-www-form-urlencoded":
                form = await FormParser(
                    self.headers, self.stream(), max_fields=fields, max_part_size=part_size
                ).parse()
            else:
                form = FormData()
        except MultiPartException as exc:
            if "app" not in self.scope:
                # A bare ASGI app has no exception handlers to turn this into a 400.
                raise
            raise HTTPException(400, detail=exc.message) from exc
        self.scope[_FORM_KEY] = form
        if context is not None:
            context.add_cleanup(form.close)
        return form

    async def close(self) -> None:
        """Close the uploaded files of the parsed form, if any. A checkpoint."""
        form: FormData | None = self.scope.get(_FORM_KEY)
        if form is not None:
            await form.close()

    async def is_disconnected(self) -> bool:
        """Whether the client has gone away. A checkpoint; waits a millisecond at most.

        Under TrioAPI this asks the receive pump. Without it, this polls
        ``receive`` for a message that is already there; a body message read
        that way is kept for :meth:`stream`, not lost. Cancellation leaves the
        receive untouched.
        """
        if self._is_disconnected:
            return True
        context = get_request_context(self.scope)
        if context is not None:
            self._is_disconnected = context.client_disconnected
            await trio.lowlevel.checkpoint()
            return self._is_disconnected
        message: Message | None = None
        # Not move_on_after(0): a scope whose deadline has passed is cancelled
        # on entry, and a Trio channel's receive() checks for cancellation
        # before it looks for a ready message, so it would never see one.
        with trio.move_on_after(_DISCONNECT_POLL):
            message = await self._receive()
        if message is not None:
            if message["type"] == "http.disconnect":
                self._is_disconnected = True
            elif message["type"] == "http.request":
                self._pending.append(message)
        return self._is_disconnected

    async def send_push_promise(self, path: str) -> None:
        """Ask an HTTP/2 server to push ``path``; does nothing if the server cannot push."""
        if "http.response.push" not in self.scope.get("extensions", {}):
            return
        raw_headers: list[tuple[bytes, bytes]] = []
        for name in _PUSH_HEADERS:
            for value in self.headers.getlist(name):
                raw_headers.append((name.encode("latin-1"), value.encode("latin-1")))
        await self._send({"type": "http.response.push", "path": path, "headers": raw_headers})

    async def send_early_hints(self, link: str | Iterable[str], /, *additional_links: str) -> bool:
        """Send a ``103 Early Hints`` response with these ``Link`` header values.

        Starlette's spelling, ``send_early_hints(link, *more)``, and a list of
        links both work. For example
        ``await request.send_early_hints("</app.css>; rel=preload; as=style")``
        lets a browser fetch the stylesheet while the endpoint is still working.
        Does nothing when the server does not offer the ``http.response.early_hint``
        extension (hypercorn offers it on HTTP/2 only). A checkpoint when it sends.

        Returns:
            Whether the hints were sent.

        Raises:
            ValueError: A link contains CR, LF or NUL.
        """
        links = [link] if isinstance(link, str) else list(link)
        return await send_early_hints(self.scope, self._send, [*links, *additional_links])


class _FormCall:
    """What ``request.form()`` returns: awaitable, or an ``async with`` that closes the form."""

    __slots__ = ("_form", "_limits", "_request")

    def __init__(self, request: Request, limits: tuple[float | None, ...]) -> None:
        self._request = request
        self._limits = limits
        self._form: FormData | None = None

    def __await__(self) -> Generator[Any, None, FormData]:
        return self._request._get_form(self._limits).__await__()

    async def __aenter__(self) -> FormData:
        self._form = await self._request._get_form(self._limits)
        return self._form

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._form is not None:
            await self._form.close()
