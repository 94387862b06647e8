"""``UploadFile``: an uploaded file with async methods that keep disk I/O off the loop.

Public through ``trioapi.datastructures``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

import trio

from trioapi._headers import Headers
from trioapi.concurrency import run_in_threadpool

if TYPE_CHECKING:
    from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
    from pydantic.json_schema import JsonSchemaValue
    from pydantic_core import CoreSchema

__all__ = ["UploadFile"]

T = TypeVar("T")


class UploadFile:
    """An uploaded file whose async methods keep disk I/O off the event loop.

    While ``file`` is a ``SpooledTemporaryFile`` held in memory the methods
    work inline; once it is on disk they run in a worker thread.
    """

    def __init__(
        self,
        file: BinaryIO,
        *,
        size: int | None = None,
        filename: str | None = None,
        headers: Headers | None = None,
    ) -> None:
        self.file = file
        self.size = size
        self.filename = filename
        self.headers = headers if headers is not None else Headers()

    @property
    def content_type(self) -> str | None:
        """The part's ``Content-Type`` header, if any."""
        return self.headers.get("content-type")

    async def _call(self, func: Callable[..., T], *args: Any, adds: int = 0) -> T:
        # Only an in-memory spooled file is safe to touch from the event loop,
        # and only while this call will not make it roll over to disk.
        max_size: int = getattr(self.file, "_max_size", 0)
        if getattr(self.file, "_rolled", True) or (
            adds and max_size and self.file.tell() + adds > max_size
        ):
            return await run_in_threadpool(func, *args)
        await trio.lowlevel.checkpoint()
        return func(*args)

    async def write(self, data: bytes) -> None:
        """Append ``data`` at the current position. A checkpoint."""
        if self.size is not None:
            self.size += len(data)
        await self._call(self.file.write, data, adds=len(data))

    async def read(self, size: int = -1) -> bytes:
        """Read up to ``size`` bytes (all remaining if negative). A checkpoint."""
        return await self._call(self.file.read, size)

    async def seek(self, offset: int) -> None:
        """Move to byte ``offset`` from the start. A checkpoint."""
        await self._call(self.file.seek, offset)

    async def close(self) -> None:
        """Close the file. A checkpoint; a thread already closing finishes first."""
        await self._call(self.file.close)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(filename={self.filename!r}, "
            f"size={self.size!r}, headers={self.headers!r})"
        )

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source_type: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        """Let pydantic accept ``UploadFile`` instances as they are."""
        # Imported here so that merely importing this module needs no pydantic.
        from pydantic_core import core_schema

        return core_schema.is_instance_schema(cls)

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """Describe a file field as FastAPI does for OpenAPI 3.1."""
        return {"type": "string", "contentMediaType": "application/octet-stream"}
