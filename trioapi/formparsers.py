"""Streaming parsers for form bodies, on top of ``python-multipart``.

Both parsers are push-based: each chunk from the request stream is written
into a ``python-multipart`` parser whose callbacks only record what they saw;
the recorded events are then handled here, between chunks, where awaiting
(writing an upload to a temporary file) is allowed.
"""

from __future__ import annotations

import codecs
import enum
import inspect
from collections.abc import AsyncIterable, AsyncIterator
from contextlib import asynccontextmanager
from tempfile import SpooledTemporaryFile
from typing import Any, BinaryIO, cast
from urllib.parse import unquote_plus

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import (
    MultipartParser,
    MultipartState,
    QuerystringParser,
    parse_options_header,
)
from typing_extensions import deprecated

from trioapi.datastructures import FormData, Headers, UploadFile
from trioapi.exceptions import TrioAPIDeprecationWarning

__all__ = ["FormMessage", "FormParser", "MultiPartException", "MultiPartParser"]

# Uploads stay in memory up to this size, then roll over to a temporary file.
SPOOL_MAX_SIZE = 1024 * 1024

# python-multipart checks the header limits itself, byte by byte, since the
# release that added them; with an older one this module checks them per chunk.
_PARSER_HAS_HEADER_LIMITS = "max_header_count" in inspect.signature(MultipartParser).parameters


@deprecated(
    "`FormMessage` is deprecated and will be removed in a future version.",
    category=TrioAPIDeprecationWarning,
)
class FormMessage(enum.Enum):
    """The events of the old callback-based form parser; kept only for code that names them."""

    FIELD_START = 1
    FIELD_NAME = 2
    FIELD_DATA = 3
    FIELD_END = 4
    END = 5


class MultiPartException(Exception):
    """A form body that cannot be parsed or breaks a limit (answered with 400)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _decode(data: bytes, charset: str) -> str:
    """``data`` in ``charset``; bytes that are not valid in it are read as latin-1 (as Starlette)."""
    try:
        return data.decode(charset)
    except UnicodeDecodeError:
        return data.decode("latin-1")
    except (LookupError, ValueError):
        # A charset Python knows but cannot decode text with (base64, idna...).
        return _decode(data, "utf-8")


def _known_charset(name: str | None, default: str = "utf-8") -> str:
    if not name:
        return default
    try:
        codecs.lookup(name)
    except (LookupError, ValueError):
        return default
    return name


@asynccontextmanager
async def _closing(stream: AsyncIterable[bytes]) -> AsyncIterator[AsyncIterator[bytes]]:
    """Iterate ``stream`` and close it (if it is an async generator) even when left early."""
    iterator = aiter(stream)
    try:
        yield iterator
    finally:
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            await aclose()


class FormParser:
    """Parse an ``application/x-www-form-urlencoded`` body into :class:`FormData`.

    Both limits are checked from inside the parser's callbacks, so a body
    over one is refused as soon as it is crossed: the rest of the chunk and
    of the body is never parsed.

    Args:
        headers: the request headers.
        stream: the body, chunk by chunk.
        max_fields: most fields accepted.
        max_part_size: largest field (name and value, still percent-encoded), in bytes.
    """

    def __init__(
        self,
        headers: Headers,
        stream: AsyncIterable[bytes],
        *,
        max_fields: int | float = 1000,
        max_part_size: int | float = 1024 * 1024,
    ) -> None:
        self.headers = headers
        self.stream = stream
        self.max_fields = max_fields
        self.max_part_size = max_part_size
        # Names as in Starlette's parser, whose tests look at them.
        self._current_fields = 0
        self._current_field_size = 0
        self._field_name = bytearray()
        self._field_value = bytearray()
        self._items: list[tuple[str, str | UploadFile]] = []

    def _on_field_start(self) -> None:
        self._current_field_size = 0
        self._field_name.clear()
        self._field_value.clear()

    def _count_field_bytes(self, count: int) -> None:
        self._current_field_size += count
        if self._current_field_size > self.max_part_size:
            raise MultiPartException(
                f"Field exceeded maximum size of {int(self.max_part_size / 1024)}KB."
            )

    def _on_field_name(self, data: bytes, start: int, end: int) -> None:
        self._count_field_bytes(end - start)
        self._field_name += data[start:end]

    def _on_field_data(self, data: bytes, start: int, end: int) -> None:
        self._count_field_bytes(end - start)
        self._field_value += data[start:end]

    def _on_field_end(self) -> None:
        self._current_fields += 1
        if self._current_fields > self.max_fields:
            raise MultiPartException(
                f"Too many fields. Maximum number of fields is {self.max_fields}."
            )
        name = unquote_plus(_decode(bytes(self._field_name), "utf-8"))
        value = unquote_plus(_decode(bytes(self._field_value), "utf-8"))
        self._items.append((name, value))

    async def parse(self) -> FormData:
        """Read the whole stream and return the fields, in order. A checkpoint per chunk.

        Raises:
            MultiPartException: the body is not a valid query string, has
                more than ``max_fields`` fields or one over ``max_part_size``.
        """
        parser = QuerystringParser(
            callbacks={
                "on_field_start": self._on_field_start,
                "on_field_name": self._on_field_name,
                "on_field_data": self._on_field_data,
                "on_field_end": self._on_field_end,
            }
        )
        try:
            async with _closing(self.stream) as stream:
                async for chunk in stream:
                    if chunk:
                        parser.write(chunk)
            parser.finalize()
        except FormParserError as exc:
            raise MultiPartException(f"Invalid form body: {exc}") from exc
        return FormData(self._items)


class _Part:
    """The multipart part being read."""

    __slots__ = ("data", "field_name", "file", "header_field", "header_value", "headers")

    def __init__(self) -> None:
        self.headers: list[tuple[bytes, bytes]] = []
        self.header_field = bytearray()
        self.header_value = bytearray()
        self.field_name = ""
        self.data = bytearray()
        self.file: UploadFile | None = None


# Events recorded by the parser callbacks; "data" carries the bytes.
_Event = tuple[str, bytes]


class MultiPartParser:
    """Parse a ``multipart/form-data`` body into :class:`FormData`.

    File parts become :class:`UploadFile` objects spooled to a temporary file;
    other parts become strings. Limits guard the server against abuse.

    Args:
        headers: the request headers (the boundary is read from Content-Type).
        stream: the body, chunk by chunk.
        max_files: most file parts accepted.
        max_fields: most non-file parts accepted.
        max_part_size: largest non-file part, in bytes (files are not capped here).
        max_header_count: most headers in one part.
        max_header_size: longest header line of a part, in bytes.
    """

    spool_max_size = SPOOL_MAX_SIZE
    """Uploads stay in memory up to this many bytes, then roll over to a temporary file."""
    max_part_size: int | float = 1024 * 1024
    """The default largest non-file part, in bytes."""

    def __init__(
        self,
        headers: Headers,
        stream: AsyncIterable[bytes],
        *,
        max_files: int | float = 1000,
        max_fields: int | float = 1000,
        max_part_size: int | float = 1024 * 1024,
        max_header_count: int | float = 8,
        max_header_size: int | float = 4096 + 128,
    ) -> None:
        self.headers = headers
        self.stream = stream
        self.max_files = max_files
        self.max_fields = max_fields
        self.max_part_size = max_part_size
        self.max_header_count = max_header_count
        self.max_header_size = max_header_size
        self._charset = "utf-8"
        self._events: list[_Event] = []
        self._part = _Part()
        self._files_seen = 0
        self._fields_seen = 0
        self._opened: list[UploadFile] = []
        self._items: list[tuple[str, str | UploadFile]] = []

    def _record(self, kind: str) -> None:
        self._events.append((kind, b""))

    def _record_data(self, kind: str, data: bytes, start: int, end: int) -> None:
        self._events.append((kind, data[start:end]))

    def _build_parser(self, boundary: bytes) -> MultipartParser:
        limits: dict[str, Any] = {}
        if _PARSER_HAS_HEADER_LIMITS:
            limits = {
                "max_header_count": self.max_header_count,
                "max_header_size": self.max_header_size,
            }
        return MultipartParser(
            boundary,
            **limits,
            callbacks={
                "on_part_begin": lambda: self._record("part_begin"),
                "on_part_data": lambda d, s, e: self._record_data("part_data", d, s, e),
                "on_part_end": lambda: self._record("part_end"),
                "on_header_field": lambda d, s, e: self._record_data("header_field", d, s, e),
                "on_header_value": lambda d, s, e: self._record_data("header_value", d, s, e),
                "on_header_end": lambda: self._record("header_end"),
                "on_headers_finished": lambda: self._record("headers_finished"),
            },
        )

    async def parse(self) -> FormData:
        """Read the whole stream and return fields and files, in order. A checkpoint per chunk.

        On any error every file opened so far is closed.

        Raises:
            MultiPartException: no boundary, a malformed body, or a limit broken.
            ClientDisconnect: from the stream, if the client leaves.
        """
        _, params = parse_options_header(self.headers.get("content-type"))
        self._charset = _known_charset(params.get(b"charset", b"").decode("latin-1"))
        boundary = params.get(b"boundary", b"")
        if not boundary:
            raise MultiPartException("Missing boundary in multipart.")
        try:
            parser = self._build_parser(boundary)
            received = 0
            async with _closing(self.stream) as stream:
                async for chunk in stream:
                    if chunk:
                        received += len(chunk)
                        parser.write(chunk)
                        await self._handle_events()
            parser.finalize()
            await self._handle_events()
            # python-multipart's finalize() accepts a body cut off anywhere;
            # an empty body is an empty form, any other must be complete.
            if received and parser.state != MultipartState.END:
                raise MultiPartException(
                    "Invalid multipart data: the body ends before its closing boundary."
                )
        except FormParserError as exc:
            self._close_all()
            # Starlette's message; what python-multipart found is the cause.
            raise MultiPartException("Invalid multipart data.") from exc
        except BaseException:
            # Cancellation included: closing a spooled file is quick and sync.
            self._close_all()
            raise
        self._close_unfinished()
        return FormData(self._items)

    def _close_all(self) -> None:
        for upload in self._opened:
            upload.file.close()

    def _close_unfinished(self) -> None:
        # A file part the body ended in the middle of never reached the form.
        kept = {id(value) for _, value in self._items}
        for upload in self._opened:
            if id(upload) not in kept:
                upload.file.close()

    async def _handle_events(self) -> None:
        events, self._events = self._events, []
        part = self._part
        for kind, data in events:
            if kind == "part_data":
                await self._on_part_data(part, data)
            elif kind == "header_field":
                part.header_field += data
                self._check_header_size(part)
            elif kind == "header_value":
                part.header_value += data
                self._check_header_size(part)
            elif kind == "header_end":
                if len(part.headers) >= self.max_header_count:
                    raise MultiPartException("Invalid multipart data.")
                name = bytes(part.header_field).lower()
                part.headers.append((name, bytes(part.header_value)))
                part.header_field.clear()
                part.header_value.clear()
            elif kind == "headers_finished":
                self._on_headers_finished(part)
            elif kind == "part_begin":
                part = self._part = _Part()
            elif kind == "part_end":
                await self._on_part_end(part)

    def _check_header_size(self, part: _Part) -> None:
        # Only reached with a python-multipart that does not check this itself
        # (it refuses the line first otherwise); the same answer either way.
        if len(part.header_field) + len(part.header_value) + 1 > self.max_header_size:
            raise MultiPartException("Invalid multipart data.")

    def _on_headers_finished(self, part: _Part) -> None:
        disposition = b""
        for header, value in part.headers:
            if header == b"content-disposition":
                disposition = value
        _, options = parse_options_header(disposition)
        name = options.get(b"name")
        if name is None:
            raise MultiPartException(
                'The Content-Disposition header field "name" must be provided.'
            )
        part.field_name = _decode(name, self._charset)
        filename = options.get(b"filename")
        if filename is None:
            self._fields_seen += 1
            if self._fields_seen > self.max_fields:
                raise MultiPartException(
                    f"Too many fields. Maximum number of fields is {self.max_fields}."
                )
            return
        self._files_seen += 1
        if self._files_seen > self.max_files:
            raise MultiPartException(
                f"Too many files. Maximum number of files is {self.max_files}."
            )
        # SpooledTemporaryFile is a binary file in all but its declared type.
        spool = cast(BinaryIO, SpooledTemporaryFile(max_size=self.spool_max_size))  # noqa: SIM115
        part.file = UploadFile(
            spool,
            size=0,
            filename=_decode(filename, self._charset),
            headers=Headers(raw=part.headers),
        )
        self._opened.append(part.file)

    async def _on_part_data(self, part: _Part, data: bytes) -> None:
        if part.file is not None:
            await part.file.write(data)
            return
        part.data += data
        if len(part.data) > self.max_part_size:
            raise MultiPartException(
                f"Part exceeded maximum size of {int(self.max_part_size / 1024)}KB."
            )

    async def _on_part_end(self, part: _Part) -> None:
        if part.file is None:
            self._items.append(
                (part.field_name, _decode(bytes(part.data), self._part_charset(part)))
            )
            return
        await part.file.seek(0)
        self._items.append((part.field_name, part.file))

    def _part_charset(self, part: _Part) -> str:
        for name, value in part.headers:
            if name == b"content-type":
                _, options = parse_options_header(value.decode("latin-1"))
                charset = options.get(b"charset", b"").decode("latin-1")
                return _known_charset(charset, self._charset)
        return self._charset
