"""``Response`` and the responses whose whole body is known up front (HTML, text, JSON, redirects).

Re-exported by :mod:`trioapi.responses`, the public module.
"""

from __future__ import annotations

import functools
import http.cookies
import importlib
import json
import re
import warnings
from collections.abc import Mapping
from datetime import datetime
from email.utils import format_datetime
from typing import Any, Literal, TypeVar
from urllib.parse import quote

from trioapi.background import BackgroundTask
from trioapi.datastructures import URL, MutableHeaders
from trioapi.exceptions import TrioAPIDeprecationWarning
from trioapi.types import Receive, Scope, Send

__all__ = [
    "HTMLResponse",
    "JSONResponse",
    "ORJSONResponse",
    "PlainTextResponse",
    "RedirectResponse",
    "Response",
    "UJSONResponse",
    "check_header",
    "has_no_body",
    "keeps_response_construction",
    "rendered_headers",
    "rendered_response",
]

# CR and LF would let a value start a new header line (response splitting);
# NUL truncates the line in some servers and proxies.
_FORBIDDEN_IN_HEADER = re.compile(r"[\r\n\x00]")
# RFC 6265 cookie attribute values: no control characters and no ';'.
_FORBIDDEN_IN_COOKIE_ATTR = re.compile(r"[\x00-\x1f\x7f;]")
_SAMESITE_VALUES = ("strict", "lax", "none")


@functools.lru_cache(maxsize=256)
def _content_type_header(media_type: str, charset: str) -> tuple[bytes, bytes]:
    """The Content-Type header: ``text/*`` without a charset gets ``charset``.

    Cached, the whole (name, value) pair: a server sends a handful of media
    types, one per response, and a tuple is never changed in place.
    """
    if media_type.startswith("text/") and "charset=" not in media_type.lower():
        media_type += "; charset=" + charset
    return (b"content-type", media_type.encode("latin-1"))


# The Content-Length header of the small bodies most responses have, made once.
_SMALL_LENGTHS = tuple((b"content-length", str(n).encode("latin-1")) for n in range(1024))


def _content_length_header(length: int) -> tuple[bytes, bytes]:
    if length < 1024:
        return _SMALL_LENGTHS[length]
    return (b"content-length", str(length).encode("latin-1"))


def check_header(name: str, value: str) -> None:
    """Refuse a header name or value that could split the response.

    Raises:
        ValueError: ``name`` or ``value`` contains CR, LF or NUL.
    """
    for part, what in ((name, "name"), (value, "value")):
        if _FORBIDDEN_IN_HEADER.search(part):
            raise ValueError(
                f"Header {what} {part!r} contains CR, LF or NUL, which would split the "
                "response. Remove those characters from the header."
            )


def has_no_body(status_code: int) -> bool:
    """Whether HTTP forbids a body (and Content-Length) for this status: 1xx, 204, 304."""
    return status_code < 200 or status_code in (204, 304)


class Response:
    """A response whose whole body is known up front.

    Args:
        content: ``str`` (encoded with :attr:`charset`), ``bytes``, or ``None``
            for an empty body. Subclasses may accept more by overriding
            :meth:`render`.
        status_code: The HTTP status.
        headers: Extra headers; names are lower-cased.
        media_type: The Content-Type (``text/*`` gets ``; charset=...``).
        background: Awaited after the body has been sent.

    Raises:
        ValueError: A header contains CR, LF or NUL.
    """

    media_type: str | None = None
    charset = "utf-8"

    def __init__(
        self,
        content: Any = None,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
    ) -> None:
        self.status_code = status_code
        if media_type is not None:
            self.media_type = media_type
        self.background = background
        self.body = self.render(content)
        self.init_headers(headers)

    def render(self, content: Any) -> bytes | memoryview:
        """Turn ``content`` into the body bytes.

        Raises:
            TypeError: ``content`` is not ``str``, ``bytes``, ``memoryview`` or ``None``.
        """
        if content is None:
            return b""
        if isinstance(content, memoryview):
            # Sent and measured as bytes: a typed view (cast("I")) counts items,
            # not bytes, and a strided one ([::2]) cannot be sent as it is.
            return content.cast("B") if content.c_contiguous else content.tobytes()
        if isinstance(content, bytes):
            return content
        if isinstance(content, str):
            return content.encode(self.charset)
        raise TypeError(
            f"{type(self).__name__} content must be str, bytes or memoryview, not "
            f"{type(content).__name__}. Use JSONResponse for other data."
        )

    def init_headers(self, headers: Mapping[str, str] | None = None) -> None:
        """Build :attr:`raw_headers` from ``headers``, Content-Length and Content-Type.

        Raises:
            ValueError: A header contains CR, LF or NUL.
        """
        body: bytes | memoryview | None = getattr(self, "body", None)
        status = self.status_code
        length: tuple[bytes, bytes] | None = None
        # Content-Length unless HTTP forbids a body (has_no_body, inlined: once per response).
        if body is not None and not (status < 200 or status == 204 or status == 304):
            length = _content_length_header(len(body))
        media_type = self.media_type
        if not headers:
            # The common case: nothing given, so nothing to check or look up.
            raw_headers: list[tuple[bytes, bytes]] = []
            if length is not None:
                raw_headers.append(length)
            if media_type is not None:
                raw_headers.append(_content_type_header(media_type, self.charset))
            self.raw_headers = raw_headers
            return
        raw_headers = []
        for name, value in headers.items():
            check_header(name, value)
            raw_headers.append((name.lower().encode("latin-1"), value.encode("latin-1")))
        names = {name for name, _ in raw_headers}
        if length is not None and b"content-length" not in names:
            raw_headers.append(length)
        if media_type is not None and b"content-type" not in names:
            raw_headers.append(_content_type_header(media_type, self.charset))
        self.raw_headers = raw_headers

    @property
    def headers(self) -> MutableHeaders:
        """A live, case-insensitive view of :attr:`raw_headers`; edits change the response."""
        # Not cached: a subclass may rebuild raw_headers with init_headers().
        return MutableHeaders(raw=self.raw_headers)

    def set_cookie(
        self,
        key: str,
        value: str = "",
        max_age: int | None = None,
        expires: datetime | str | int | None = None,
        path: str | None = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = False,
        samesite: Literal["lax", "strict", "none"] | None = "lax",
        partitioned: bool = False,
    ) -> None:
        """Add a ``Set-Cookie`` header.

        ``expires`` is a number of seconds from now, an aware UTC ``datetime``,
        or a preformatted date string. ``partitioned`` adds the CHIPS
        ``Partitioned`` attribute (browsers require ``secure=True`` with it).

        Raises:
            ValueError: ``samesite`` is not strict/lax/none, or the key or an
                attribute contains control characters (or ``;`` in an attribute).
        """
        check_header(key, value)
        cookie: http.cookies.SimpleCookie = http.cookies.SimpleCookie()
        cookie[key] = value
        morsel = cookie[key]
        if max_age is not None:
            morsel["max-age"] = max_age
        if expires is not None:
            morsel["expires"] = _cookie_expires(expires)
        for attr, attr_value in (("path", path), ("domain", domain)):
            if attr_value is not None:
                morsel[attr] = _checked_cookie_attr(attr, attr_value)
        if secure:
            morsel["secure"] = True
        if httponly:
            morsel["httponly"] = True
        if samesite is not None:
            if samesite.lower() not in _SAMESITE_VALUES:
                raise ValueError(f"samesite must be 'strict', 'lax' or 'none', not {samesite!r}.")
            morsel["samesite"] = samesite
        header_value = morsel.OutputString()
        # http.cookies only knows "Partitioned" from Python 3.14 on.
        if partitioned:
            header_value += "; Partitioned"
        self.raw_headers.append((b"set-cookie", header_value.encode("latin-1")))

    def delete_cookie(
        self,
        key: str,
        path: str = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = False,
        samesite: Literal["lax", "strict", "none"] | None = "lax",
        partitioned: bool = False,
    ) -> None:
        """Tell the client to drop a cookie (``Max-Age=0`` and an expiry in the past).

        A partitioned cookie is only dropped by a ``Set-Cookie`` that is
        partitioned too: pass ``partitioned=True`` for one.
        """
        self.set_cookie(
            key,
            max_age=0,
            expires=0,
            path=path,
            domain=domain,
            secure=secure,
            httponly=httponly,
            samesite=samesite,
            partitioned=partitioned,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the response, then run the background task.

        A checkpoint. Cancellation while sending stops the response; the
        background task then does not run.
        """
        # A WebSocket may be refused with an HTTP response (ASGI extension).
        if scope["type"] == "websocket":
            start, body_type = "websocket.http.response.start", "websocket.http.response.body"
        else:
            start, body_type = "http.response.start", "http.response.body"
        status = self.status_code
        await send({"type": start, "status": status, "headers": self.raw_headers})
        # has_no_body(status), inlined: once per response.
        body = b"" if status < 200 or status == 204 or status == 304 else self.body
        await send({"type": body_type, "body": body})
        if self.background is not None:
            await self.background()


ResponseT = TypeVar("ResponseT", bound=Response)

# Set by Response.__init__ (or not at all): a class that defines any of them
# itself (a property, say) is built by its own __init__.
_INSTANCE_ATTRIBUTES = ("status_code", "background", "body", "raw_headers")


def keeps_response_construction(cls: type[Response]) -> bool:
    """Whether ``cls`` is built as :class:`Response` builds itself (see :func:`rendered_response`)."""
    return (
        cls.__init__ is Response.__init__
        and cls.__new__ is object.__new__
        and cls.render is Response.render
        and cls.init_headers is Response.init_headers
        and not any(hasattr(cls, name) for name in _INSTANCE_ATTRIBUTES)
    )


def rendered_response(
    cls: type[ResponseT],
    body: bytes,
    status_code: int = 200,
    background: BackgroundTask | None = None,
) -> ResponseT:
    """What ``cls(body, status_code, background=background)`` makes, without its calls.

    For a class whose :func:`keeps_response_construction` is true (or whose
    own ``__init__`` does the same with ``bytes``): the body is taken as it
    is and the headers are Content-Length and Content-Type alone, from the
    cached pairs. Routes build one per response.
    """
    response = cls.__new__(cls)
    response.status_code = status_code
    response.background = background
    response.body = body
    response.raw_headers = rendered_headers(cls, body, status_code)
    return response


def rendered_headers(
    cls: type[Response], body: bytes, status_code: int
) -> list[tuple[bytes, bytes]]:
    """The raw headers of :func:`rendered_response`: Content-Length and Content-Type."""
    raw_headers: list[tuple[bytes, bytes]] = []
    if not (status_code < 200 or status_code == 204 or status_code == 304):
        raw_headers.append(_content_length_header(len(body)))
    media_type = cls.media_type
    if media_type is not None:
        raw_headers.append(_content_type_header(media_type, cls.charset))
    return raw_headers


def _cookie_expires(expires: datetime | str | int) -> str | int:
    if isinstance(expires, datetime):
        return format_datetime(expires, usegmt=True)
    if isinstance(expires, str):
        return _checked_cookie_attr("expires", expires)
    return expires  # seconds from now: SimpleCookie formats the date


def _checked_cookie_attr(attr: str, value: str) -> str:
    if _FORBIDDEN_IN_COOKIE_ATTR.search(value):
        raise ValueError(
            f"Cookie {attr} {value!r} contains a control character or ';', which would "
            "corrupt the Set-Cookie header. Remove those characters."
        )
    return value


class HTMLResponse(Response):
    """A ``text/html`` response."""

    media_type = "text/html"


class PlainTextResponse(Response):
    """A ``text/plain`` response."""

    media_type = "text/plain"


class JSONResponse(Response):
    """A compact ``application/json`` response; NaN and infinity are refused.

    The content must already be JSON-compatible (dicts, lists, str, numbers,
    bools, None): use ``jsonable_encoder`` first for models and dates.
    """

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        """Serialize ``content`` to UTF-8 JSON.

        Raises:
            ValueError: ``content`` contains NaN or infinity.
            TypeError: ``content`` is not JSON-serializable.
        """
        return json.dumps(
            content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
        ).encode("utf-8")


def _import_json_library(name: str, response_class: str) -> Any:
    # Imported on first use: orjson and ujson are optional (the 'json' extra),
    # and an app that never sends these responses must not need them.
    try:
        return importlib.import_module(name)
    except ImportError:
        raise ImportError(
            f"{response_class} needs the {name!r} package, which is not installed. "
            f"Install it with `pip install {name}` (or `pip install 'trioapi[json]'`), "
            "or use JSONResponse."
        ) from None


def _warn_deprecated_json_response(response_class: str) -> None:
    warnings.warn(
        f"{response_class} is deprecated: JSONResponse (or a return type / "
        "response_model, serialized by pydantic) gives the same JSON without an "
        "extra package. Use JSONResponse instead.",
        TrioAPIDeprecationWarning,
        stacklevel=3,
    )


class UJSONResponse(JSONResponse):
    """An ``application/json`` response rendered by ``ujson`` (deprecated).

    Kept for FastAPI compatibility; constructing one emits a
    ``TrioAPIDeprecationWarning``. Needs the ``ujson`` package.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _warn_deprecated_json_response("UJSONResponse")
        super().__init__(*args, **kwargs)

    def render(self, content: Any) -> bytes:
        """Serialize ``content`` with ``ujson`` (non-ASCII kept as UTF-8)."""
        ujson = _import_json_library("ujson", "UJSONResponse")
        rendered: str = ujson.dumps(content, ensure_ascii=False)
        return rendered.encode("utf-8")


class ORJSONResponse(JSONResponse):
    """An ``application/json`` response rendered by ``orjson`` (deprecated).

    Kept for FastAPI compatibility; constructing one emits a
    ``TrioAPIDeprecationWarning``. Needs the ``orjson`` package. Non-string
    dict keys and numpy arrays are serialized.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _warn_deprecated_json_response("ORJSONResponse")
        super().__init__(*args, **kwargs)

    def render(self, content: Any) -> bytes:
        """Serialize ``content`` with ``orjson``."""
        orjson = _import_json_library("orjson", "ORJSONResponse")
        rendered: bytes = orjson.dumps(
            content, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY
        )
        return rendered


# Characters left as they are in a Location header: URL delimiters and '%'
# (so an already-encoded URL is not encoded twice); everything else,
# including CR/LF and spaces, is percent-encoded.
_LOCATION_SAFE = ":/%#?=@[]!$&'()*+,;"


class RedirectResponse(Response):
    """A redirect (307 by default) to ``url``, with an empty body."""

    def __init__(
        self,
        url: str | URL,
        status_code: int = 307,
        headers: Mapping[str, str] | None = None,
        background: BackgroundTask | None = None,
    ) -> None:
        super().__init__(
            content=b"", status_code=status_code, headers=headers, background=background
        )
        self.headers["location"] = quote(str(url), safe=_LOCATION_SAFE)
