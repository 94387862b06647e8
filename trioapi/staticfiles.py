"""StaticFiles: an ASGI app that serves the files under a directory."""

from __future__ import annotations

import errno
import importlib.util
import os
import re
import stat
from collections.abc import Sequence
from email.utils import parsedate_to_datetime

from trioapi._routing.paths import get_route_path
from trioapi.concurrency import run_in_threadpool
from trioapi.datastructures import URL, Headers
from trioapi.exceptions import HTTPException, TrioAPIError
from trioapi.responses import FileResponse, RedirectResponse, Response
from trioapi.types import Receive, Scope, Send
from trioapi.websockets import WebSocketClose

__all__ = ["NotModifiedResponse", "PathLike", "StaticFiles"]

PathLike = str | os.PathLike[str]
LookupResult = tuple[str, os.stat_result | None]


class NotModifiedResponse(Response):
    """A 304 that keeps only the headers RFC 9110 §15.4.5 lets a 304 carry."""

    NOT_MODIFIED_HEADERS = ("cache-control", "content-location", "date", "etag", "expires", "vary")

    def __init__(self, headers: Headers) -> None:
        kept = {name: value for name, value in headers.items() if name in self.NOT_MODIFIED_HEADERS}
        super().__init__(status_code=304, headers=kept)


class StaticFiles:
    """Serve the files of a directory (or of packages' ``statics`` folders).

    Args:
        directory: The directory to serve.
        packages: Package names (serving their ``statics`` folder) or
            ``(package, folder)`` pairs; searched after ``directory``.
        html: HTML mode: serve ``index.html`` for a directory and
            ``404.html`` (with status 404) for a missing file.
        check_dir: Fail at construction if ``directory`` does not exist.
        follow_symlink: Serve symlinks that point outside the directory.

    Only GET and HEAD are allowed (405 otherwise). A path that does not
    resolve to a file inside the directory is a 404, raised as
    ``HTTPException`` so the app's handlers (or a subclass) can answer it.

    Raises:
        TrioAPIError: ``directory`` or a package's folder does not exist.
    """

    def __init__(
        self,
        *,
        directory: PathLike | None = None,
        packages: Sequence[str | tuple[str, str]] | None = None,
        html: bool = False,
        check_dir: bool = True,
        follow_symlink: bool = False,
    ) -> None:
        self.directory = directory
        self.packages = packages
        self.all_directories = self.get_directories(directory, packages)
        self.html = html
        self.config_checked = False
        self.follow_symlink = follow_symlink
        if check_dir and directory is not None and not os.path.isdir(directory):
            raise TrioAPIError(
                f"StaticFiles directory '{directory}' does not exist. Create it, or pass "
                "check_dir=False if it will exist before the first request."
            )

    def get_directories(
        self,
        directory: PathLike | None = None,
        packages: Sequence[str | tuple[str, str]] | None = None,
    ) -> list[PathLike]:
        """The directories to search, in order: ``directory``, then each package's folder."""
        directories: list[PathLike] = [] if directory is None else [directory]
        for package in packages or []:
            name, folder = package if isinstance(package, tuple) else (package, "statics")
            spec = importlib.util.find_spec(name)
            if spec is None or spec.origin is None:
                raise TrioAPIError(
                    f"StaticFiles: package {name!r} could not be found. Check its name and "
                    "that it is installed."
                )
            package_directory = os.path.normpath(os.path.join(spec.origin, "..", folder))
            if not os.path.isdir(package_directory):
                raise TrioAPIError(
                    f"StaticFiles: directory {folder!r} in package {name!r} could not be found. "
                    f"Create it, or pass ({name!r}, 'your_folder') in packages."
                )
            directories.append(package_directory)
        return directories

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the file the request's path names.

        A checkpoint: the lookup runs in a worker thread.

        Raises:
            HTTPException: 404 (not found or outside the directory), 405 (not
                GET or HEAD), 401 (permission denied).
        """
        if scope["type"] == "websocket":
            # Nothing to serve over a socket: refuse the handshake (close 1000).
            await WebSocketClose()(scope, receive, send)
            return
        if scope["type"] != "http":
            raise RuntimeError(f"StaticFiles only serves HTTP requests, not {scope['type']!r}.")
        if not self.config_checked:
            await self.check_config()
            self.config_checked = True
        path = self.get_path(scope)
        response = await self.get_response(path, scope)
        await response(scope, receive, send)

    def get_path(self, scope: Scope) -> str:
        """The requested path relative to the mount, as an OS path (not yet checked)."""
        route_path = get_route_path(scope)
        return os.path.normpath(os.path.join(*route_path.split("/")))

    async def get_response(self, path: str, scope: Scope) -> Response:
        """Build the response for ``path`` (relative to the served directories).

        Raises:
            HTTPException: As for :meth:`__call__`.
        """
        if scope["method"] not in ("GET", "HEAD"):
            raise HTTPException(status_code=405, headers={"Allow": "GET, HEAD"})
        full_path, stat_result = await self._lookup(path) if _is_contained(path) else ("", None)
        if stat_result is not None and stat.S_ISREG(stat_result.st_mode):
            return self.file_response(full_path, stat_result, scope)
        if stat_result is not None and stat.S_ISDIR(stat_result.st_mode) and self.html:
            index_path, index_stat = await self._lookup(os.path.join(path, "index.html"))
            if index_stat is not None and stat.S_ISREG(index_stat.st_mode):
                if not scope["path"].endswith("/"):
                    # Relative links in index.html resolve against "dir/", not "dir".
                    url = URL(scope=scope)
                    return RedirectResponse(url=url.replace(path=url.path + "/"))
                return self.file_response(index_path, index_stat, scope)
        if self.html:
            page_path, page_stat = await self._lookup("404.html")
            if page_stat is not None and stat.S_ISREG(page_stat.st_mode):
                return FileResponse(page_path, stat_result=page_stat, status_code=404)
        raise HTTPException(status_code=404)

    async def _lookup(self, path: str) -> LookupResult:
        try:
            return await run_in_threadpool(self.lookup_path, path)
        except PermissionError:
            raise HTTPException(status_code=401) from None
        except OSError as exc:
            if exc.errno == errno.ENAMETOOLONG:
                raise HTTPException(status_code=404) from None
            raise

    def lookup_path(self, path: str) -> LookupResult:
        """Find ``path`` in the served directories: ``(full_path, stat)`` or ``("", None)``.

        Blocking; :meth:`get_response` calls it in a worker thread. A path
        that resolves outside its directory (through ``..`` or, unless
        ``follow_symlink``, a symlink) is treated as missing.
        """
        for directory in self.all_directories:
            joined = os.path.join(directory, path)
            if self.follow_symlink:
                full_path, root = os.path.abspath(joined), os.path.abspath(directory)
            else:
                full_path, root = os.path.realpath(joined), os.path.realpath(directory)
            if os.path.commonpath([full_path, root]) != root:
                continue
            try:
                return full_path, os.stat(full_path)
            except (FileNotFoundError, NotADirectoryError):
                continue
        return "", None

    def file_response(
        self, full_path: PathLike, stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        """A FileResponse for the file, or a 304 if the client's copy is current."""
        response = FileResponse(full_path, status_code=status_code, stat_result=stat_result)
        if self.is_not_modified(response.headers, Headers(scope=scope)):
            return NotModifiedResponse(response.headers)
        return response

    async def check_config(self) -> None:
        """Check, once, that the directory exists and is a directory.

        Raises:
            RuntimeError: It does not exist or is not a directory.
        """
        if self.directory is None:
            return
        try:
            stat_result = await run_in_threadpool(os.stat, self.directory)
        except FileNotFoundError:
            raise RuntimeError(
                f"StaticFiles directory '{self.directory}' does not exist."
            ) from None
        if not stat.S_ISDIR(stat_result.st_mode):
            raise RuntimeError(f"StaticFiles path '{self.directory}' is not a directory.")

    def is_not_modified(self, response_headers: Headers, request_headers: Headers) -> bool:
        """Whether the client's cached copy is current (answer 304).

        ``If-None-Match`` (weak comparison, ``*`` matches) wins; only without
        it is ``If-Modified-Since`` compared with Last-Modified (RFC 9110 §13.2.2).
        """
        if_none_match = request_headers.get("if-none-match")
        if if_none_match is not None:
            etag = response_headers.get("etag")
            return etag is not None and _etag_matches(if_none_match, etag)
        if_modified_since = request_headers.get("if-modified-since")
        last_modified = response_headers.get("last-modified")
        if if_modified_since is None or last_modified is None:
            return False
        try:
            return parsedate_to_datetime(if_modified_since) >= parsedate_to_datetime(last_modified)
        except (TypeError, ValueError):
            return False  # an unparseable date is ignored, as RFC 9110 says


# One entity-tag of an If-None-Match list: a quoted string (which may hold
# commas and "*"), weak or not; the W/ prefix is dropped (weak comparison).
_ENTITY_TAG = re.compile(r'(?:W/)?("[^"]*")')


def _etag_matches(if_none_match: str, etag: str) -> bool:
    """Weak comparison of ``etag`` with an ``If-None-Match`` value (RFC 9110 §13.1.2).

    Only a bare ``*`` is the wildcard; ``"*"`` and ``"a,*"`` are entity-tags.
    """
    if if_none_match.strip() == "*":
        return True
    own = etag.strip().removeprefix("W/")
    return own in _ENTITY_TAG.findall(if_none_match)


def _is_contained(path: str) -> bool:
    """Whether a normalized relative path stays inside its directory, syntactically.

    NUL would make ``os.stat`` raise; a backslash is a separator on Windows
    and is refused everywhere so the behaviour is the same on every OS.
    The symlink-aware check follows in :meth:`StaticFiles.lookup_path`.
    """
    if "\x00" in path or "\\" in path or os.path.isabs(path):
        return False
    return path != os.pardir and not path.startswith(os.pardir + os.sep)
