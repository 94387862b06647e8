"""FileResponse: a file from disk, with HEAD, conditional and Range support.

Re-exported as :class:`trioapi.responses.FileResponse`. Every stat, open and
read runs in a worker thread, so a slow disk never blocks the event loop.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import secrets
import stat
import warnings
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from email.utils import formatdate
from typing import BinaryIO
from urllib.parse import quote

from trioapi._response import PlainTextResponse, Response
from trioapi.background import BackgroundTask
from trioapi.concurrency import run_in_threadpool
from trioapi.datastructures import Headers
from trioapi.types import Receive, Scope, Send

__all__ = ["FileResponse", "MalformedRangeHeader", "RangeNotSatisfiable", "parse_range_header"]

# More ranges than this in one Range header and the whole file is sent (200),
# as Starlette does since 1.5.1: each part costs a read and a part header, so
# thousands of one-byte ranges would cost far more than the file itself.
MAX_RANGES = 100


class MalformedRangeHeader(Exception):
    """The Range header cannot be used (answered with 400 and this message)."""

    def __init__(self, content: str = "Malformed range header.") -> None:
        super().__init__(content)
        self.content = content


class RangeNotSatisfiable(Exception):
    """A range starts outside the file (answered with 416)."""

    def __init__(self, max_size: int) -> None:
        super().__init__(max_size)
        self.max_size = max_size

    @property
    def size(self) -> int:
        """The file's size (``max_size``)."""
        return self.max_size


def parse_range_header(value: str, size: int) -> list[tuple[int, int]]:
    """Parse a ``Range`` header into sorted, merged ``(start, end)`` pairs, end exclusive.

    Starlette 1.10's reading: pieces that are not ``first-last``, ``first-``
    or ``-suffix`` numbers are skipped; an end past the file means the end of
    the file; overlapping or adjacent ranges are merged. More than
    :data:`MAX_RANGES` ranges give ``[]`` (send the whole file).

    Raises:
        MalformedRangeHeader: no ``=``, a unit other than ``bytes``, no usable
            range, or a range whose end is before its start.
        RangeNotSatisfiable: a range starts at or past the end of the file.
    """
    unit, sep, specs = value.partition("=")
    if not sep:
        raise MalformedRangeHeader
    if unit.strip().lower() != "bytes":
        raise MalformedRangeHeader("Only support bytes range")
    if specs.count(",") + 1 > MAX_RANGES:
        return []
    ranges = [parsed for spec in specs.split(",") if (parsed := _parse_range_spec(spec, size))]
    if not ranges:
        raise MalformedRangeHeader("Range header: range must be requested")
    if any(not 0 <= start < size for start, _ in ranges):
        raise RangeNotSatisfiable(size)
    if any(start >= end for start, end in ranges):
        raise MalformedRangeHeader("Range header: start must be less than end")
    return _merge_ranges(ranges)


def _parse_range_spec(spec: str, size: int) -> tuple[int, int] | None:
    """One ``first-last`` / ``first-`` / ``-suffix``; ``None`` for a piece to skip."""
    first, dash, last = (part.strip() for part in spec.strip().partition("-"))
    if not dash or not (first or last):
        return None
    try:
        # int() also refuses numbers over 4300 digits: such a piece is skipped.
        if not first:
            return max(size - int(last), 0), size
        start = int(first)
        end = int(last) + 1 if last and int(last) < size else size
    except ValueError:
        return None
    return start, end


def _merge_ranges(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _open_binary(path: str | os.PathLike[str]) -> BinaryIO:
    return open(path, "rb")  # closed by FileResponse._open_file


def _read_at(file: BinaryIO, offset: int, size: int) -> bytes:
    file.seek(offset)
    return file.read(size)


class FileResponse(Response):
    """Send a file from disk.

    Args:
        path: The file to send.
        status_code: The HTTP status; Range requests are honoured only for 200.
        headers: Extra headers (they win over the computed ones).
        media_type: The Content-Type; guessed from ``filename`` or ``path``
            when omitted (``application/octet-stream`` if unknown).
        background: Awaited after the body has been sent.
        filename: Adds ``Content-Disposition`` with this name (RFC 5987
            ``filename*`` when it needs encoding).
        stat_result: A ready ``os.stat`` result, to skip the stat at send time.
        method: Deprecated and unused; the method is read from the scope.
        content_disposition_type: ``"attachment"`` or ``"inline"``.

    Sending raises ``RuntimeError`` if the file does not exist or is not a
    regular file.
    """

    chunk_size = 64 * 1024

    def __init__(
        self,
        path: str | os.PathLike[str],
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
        filename: str | None = None,
        stat_result: os.stat_result | None = None,
        method: str | None = None,
        content_disposition_type: str = "attachment",
    ) -> None:
        if method is not None:
            warnings.warn(
                "FileResponse's 'method' parameter is unused (the method is read from the "
                "request) and will be removed. Stop passing it.",
                DeprecationWarning,
                stacklevel=2,
            )
        self.path = path
        self.status_code = status_code
        self.filename = filename
        self.media_type = (
            media_type or mimetypes.guess_type(filename or path)[0] or "application/octet-stream"
        )
        self.background = background
        self.init_headers(headers)
        self.headers.setdefault("accept-ranges", "bytes")
        if filename is not None:
            self.headers.setdefault(
                "content-disposition", _content_disposition(content_disposition_type, filename)
            )
        self.stat_result = stat_result
        if stat_result is not None:
            self.set_stat_headers(stat_result)

    def set_stat_headers(self, stat_result: os.stat_result) -> None:
        """Add Content-Length, Last-Modified and ETag from ``stat_result`` unless already set."""
        etag_base = f"{stat_result.st_mtime}-{stat_result.st_size}"
        etag = hashlib.md5(etag_base.encode(), usedforsecurity=False).hexdigest()
        self.headers.setdefault("content-length", str(stat_result.st_size))
        self.headers.setdefault("last-modified", formatdate(stat_result.st_mtime, usegmt=True))
        self.headers.setdefault("etag", f'"{etag}"')

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the file (or the requested ranges), then run the background task.

        A checkpoint. Cancellation stops sending between chunks; the file is
        closed either way.

        Raises:
            RuntimeError: The file does not exist or is not a regular file.
        """
        stat_result = self.stat_result
        if stat_result is None:
            stat_result = await self._stat()
            self.set_stat_headers(stat_result)
        request_headers = Headers(scope=scope)
        header_only = _is_head(scope)
        range_header = request_headers.get("range")
        if (
            range_header is None
            or self.status_code != 200
            # Ranges are for GET (and HEAD, which mirrors it), as in Starlette.
            or str(scope.get("method", "GET")).upper() not in ("GET", "HEAD")
            or not self._if_range_matches(request_headers.get("if-range"))
            # Counted before parsing: the work stays bounded whatever the header.
            or range_header.count(",") >= MAX_RANGES
        ):
            await self._send_whole(scope, send, stat_result.st_size, header_only)
        else:
            await self._send_ranges(scope, receive, send, range_header, stat_result.st_size)
        if self.background is not None:
            await self.background()

    async def _stat(self) -> os.stat_result:
        try:
            stat_result = await run_in_threadpool(os.stat, self.path)
        except FileNotFoundError:
            raise RuntimeError(f"File at path {self.path} does not exist.") from None
        if not stat.S_ISREG(stat_result.st_mode):
            raise RuntimeError(f"File at path {self.path} is not a file.")
        return stat_result

    def _if_range_matches(self, if_range: str | None) -> bool:
        # If-Range: serve the ranges only if the file is still the version the
        # client has part of (same ETag or same Last-Modified); else all of it.
        if if_range is None:
            return True
        if if_range.startswith("W/"):
            return False  # a weak validator cannot vouch for byte ranges (RFC 9110 13.1.5)
        return if_range in (self.headers.get("etag"), self.headers.get("last-modified"))

    async def _send_whole(self, scope: Scope, send: Send, size: int, header_only: bool) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        if not header_only and "http.response.pathsend" in scope.get("extensions", {}):
            # The server sends the file itself (ASGI path send extension).
            await send({"type": "http.response.pathsend", "path": str(self.path)})
        elif header_only or size == 0:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        else:
            async with self._open_file() as file:
                await self._send_file_part(send, file, 0, size, more_after=False)

    async def _send_ranges(
        self, scope: Scope, receive: Receive, send: Send, range_header: str, size: int
    ) -> None:
        try:
            ranges = parse_range_header(range_header, size)
        except MalformedRangeHeader as exc:
            await PlainTextResponse(exc.content, status_code=400)(scope, receive, send)
            return
        except RangeNotSatisfiable:
            response = PlainTextResponse(
                status_code=416, headers={"content-range": f"bytes */{size}"}
            )
            await response(scope, receive, send)
            return
        header_only = _is_head(scope)
        if not ranges:  # more ranges than MAX_RANGES: the whole file
            await self._send_whole(scope, send, size, header_only)
        elif len(ranges) == 1:
            await self._send_single_range(send, ranges[0], size, header_only)
        else:
            await self._send_multipart(send, ranges, size, header_only)

    async def _send_single_range(
        self, send: Send, byte_range: tuple[int, int], size: int, header_only: bool
    ) -> None:
        start, end = byte_range
        headers = self._replace_headers(
            content_length=end - start,
            extra=(("content-range", f"bytes {start}-{end - 1}/{size}"),),
        )
        await send({"type": "http.response.start", "status": 206, "headers": headers})
        if header_only:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        else:
            async with self._open_file() as file:
                await self._send_file_part(send, file, start, end, more_after=False)

    async def _send_multipart(
        self, send: Send, ranges: list[tuple[int, int]], size: int, header_only: bool
    ) -> None:
        boundary = secrets.token_hex(13)
        part_type = self.headers.get("content-type")
        part_heads = [_part_head(boundary, part_type, start, end, size) for start, end in ranges]
        closing = f"--{boundary}--".encode("latin-1")
        # Each part is its head, the bytes, then CRLF; the closing delimiter ends it.
        length = sum(
            len(head) + (end - start) + 2
            for head, (start, end) in zip(part_heads, ranges, strict=True)
        )
        headers = self._replace_headers(
            content_length=length + len(closing),
            extra=(("content-type", f"multipart/byteranges; boundary={boundary}"),),
        )
        await send({"type": "http.response.start", "status": 206, "headers": headers})
        if header_only:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        async with self._open_file() as file:
            for head, (start, end) in zip(part_heads, ranges, strict=True):
                await send({"type": "http.response.body", "body": head, "more_body": True})
                await self._send_file_part(send, file, start, end, more_after=True)
                await send({"type": "http.response.body", "body": b"\r\n", "more_body": True})
        await send({"type": "http.response.body", "body": closing, "more_body": False})

    def _replace_headers(
        self, *, content_length: int, extra: tuple[tuple[str, str], ...]
    ) -> list[tuple[bytes, bytes]]:
        """The response's headers for a 206, without touching the response itself."""
        replaced = {b"content-length"} | {name.encode("latin-1") for name, _ in extra}
        headers = [(name, value) for name, value in self.raw_headers if name not in replaced]
        headers.append((b"content-length", str(content_length).encode("latin-1")))
        headers.extend((name.encode("latin-1"), value.encode("latin-1")) for name, value in extra)
        return headers

    @asynccontextmanager
    async def _open_file(self) -> AsyncIterator[BinaryIO]:
        file = await run_in_threadpool(_open_binary, self.path)
        try:
            yield file
        finally:
            # Closing a file opened for reading does not block, and doing it
            # here (not in a thread) means it happens even when cancelled.
            file.close()

    async def _send_file_part(
        self, send: Send, file: BinaryIO, start: int, end: int, *, more_after: bool
    ) -> None:
        """Send bytes ``start`` to ``end`` of ``file`` in chunks of :attr:`chunk_size`."""
        position = start
        while position < end:
            size = min(self.chunk_size, end - position)
            chunk = await run_in_threadpool(_read_at, file, position, size)
            if not chunk:
                raise RuntimeError(f"File at path {self.path} is shorter than expected.")
            position += len(chunk)
            more_body = more_after or position < end
            await send({"type": "http.response.body", "body": chunk, "more_body": more_body})


def _is_head(scope: Scope) -> bool:
    return str(scope.get("method", "GET")).upper() == "HEAD"


def _content_disposition(disposition_type: str, filename: str) -> str:
    quoted = quote(filename)
    if quoted != filename:
        # RFC 5987: the name has characters that need encoding.
        return f"{disposition_type}; filename*=utf-8''{quoted}"
    return f'{disposition_type}; filename="{filename}"'


def _part_head(boundary: str, content_type: str | None, start: int, end: int, size: int) -> bytes:
    lines = [f"--{boundary}"]
    if content_type is not None:
        lines.append(f"Content-Type: {content_type}")
    lines.append(f"Content-Range: bytes {start}-{end - 1}/{size}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
