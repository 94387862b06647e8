"""Frontend routes: a static frontend build served after every API route.

``APIRouter.frontend()`` registers a :class:`FrontendRoute`: a path operation
(so the router's and the include's dependencies, overrides, middleware and
exception handlers apply as to any route) that the router tries only when no
other route matched and no slash redirect applies. Among frontends, the
longest matching prefix wins. Missing files fall back to ``404.html`` or, for
a browser navigation, ``index.html`` (client-side routing).
"""

from __future__ import annotations

import os
import stat
import warnings
from collections.abc import Callable
from typing import Any, Literal

from trioapi._routing.api_route import APIRoute
from trioapi._routing.paths import get_route_path
from trioapi._routing.routes import Match, NoMatchFound
from trioapi.datastructures import URLPath
from trioapi.exceptions import HTTPException, InvalidDeclarationError, TrioAPIError
from trioapi.requests import Request
from trioapi.responses import Response
from trioapi.staticfiles import PathLike, StaticFiles, _is_contained
from trioapi.types import Receive, Scope, Send

__all__ = ["FrontendFiles", "FrontendRoute", "add_frontend", "frontend_path"]

Fallback = Literal["auto", "index.html", "404.html"] | None
FALLBACKS = ("auto", "index.html", "404.html", None)
SERVED_METHODS = frozenset({"GET", "HEAD"})
# Where the matched route leaves the file path it selected, for its endpoint.
_SCOPE_KEY = "trioapi.frontend_path"
# Browsers navigating to a page ask for one of these; fetches of assets do not.
_PAGE_TYPES = ("text/html", "application/xhtml+xml")


def frontend_path(path: str) -> str:
    """``path`` as a frontend prefix: ``"/"`` or a path without a trailing slash.

    Raises:
        InvalidDeclarationError: ``path`` is empty or does not start with ``/``.
    """
    if not path.startswith("/"):
        raise InvalidDeclarationError(
            f"frontend({path!r}): the path must start with '/'. Pass '/' to serve the "
            "build at the root, or a prefix such as '/app'."
        )
    return path if path == "/" else path.rstrip("/") or "/"


def check_frontend_dir(
    directory: PathLike, check_dir: bool | Literal["auto"], stacklevel: int
) -> bool:
    """Whether to check the directory now: ``"auto"`` checks unless ``TRIOAPI_ENV=development``.

    In development the build may not exist yet (the frontend's dev server
    serves it), so the check is skipped with a warning instead.
    """
    if check_dir != "auto":
        return check_dir
    if os.environ.get("TRIOAPI_ENV") != "development":
        return True
    if not os.path.isdir(directory):
        warnings.warn(
            f"Frontend directory '{directory}' does not exist "
            f"(resolved: '{os.path.realpath(directory)}').",
            stacklevel=stacklevel + 1,
        )
    return False


def accepts_page(scope: Scope) -> bool:
    """Whether the request's Accept header explicitly accepts HTML (a navigation)."""
    accept = Request(scope).headers.get("accept", "")
    for item in accept.split(","):
        media_type, *params = (part.strip() for part in item.split(";"))
        if media_type.lower() not in _PAGE_TYPES:
            continue
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value.strip().strip('"'))
                except ValueError:
                    pass  # an unparseable q counts as the default, 1
        if quality != 0:
            return True
    return False


class FrontendFiles(StaticFiles):
    """The files of one frontend build, with its fallback for missing paths.

    Raises:
        TrioAPIError: ``check_dir`` and the directory, or an explicit
            fallback file in it, does not exist.
    """

    def __init__(self, *, directory: PathLike, fallback: Fallback, check_dir: bool) -> None:
        if check_dir and not os.path.isdir(directory):
            raise TrioAPIError(
                f"Frontend directory '{directory}' does not exist (resolved: "
                f"'{os.path.realpath(directory)}'). Build the frontend first, or pass "
                "check_dir=False if it will exist before the first request."
            )
        super().__init__(directory=directory, html=True, check_dir=check_dir)
        self.fallback = fallback
        if check_dir and fallback in ("index.html", "404.html"):
            self._fallback_stat(str(fallback), self.lookup_path(str(fallback)))

    def _fallback_stat(self, name: str, found: tuple[str, os.stat_result | None]) -> str:
        full_path, stat_result = found
        if stat_result is None or not stat.S_ISREG(stat_result.st_mode):
            raise TrioAPIError(
                f"Frontend fallback file '{name}' does not exist in directory '{self.directory}' "
                f"(resolved: '{os.path.realpath(str(self.directory))}'). Add it to the "
                "build, or pass fallback='auto' to use it only when it exists."
            )
        return full_path

    async def _resource(self, path: str) -> tuple[str, os.stat_result, bool] | None:
        """The file for ``path`` (or its directory's index.html): path, stat, is-index."""
        if not _is_contained(path):
            return None
        full_path, found = await self._lookup(path)
        if found is not None and stat.S_ISREG(found.st_mode):
            return full_path, found, False
        if found is not None and stat.S_ISDIR(found.st_mode):
            full_path, found = await self._lookup(os.path.join(path, "index.html"))
            if found is not None and stat.S_ISREG(found.st_mode):
                return full_path, found, True
        return None

    async def _has_file(self, name: str) -> bool:
        _, found = await self._lookup(name)
        return found is not None and stat.S_ISREG(found.st_mode)

    async def refuse(self, path: str) -> None:
        """Refuse a method other than GET/HEAD: 405 for a file that exists, else 404.

        Raises:
            HTTPException: Always.
        """
        if await self._resource(path) is not None:
            raise HTTPException(status_code=405, headers={"Allow": "GET, HEAD"})
        raise HTTPException(status_code=404)

    async def respond(self, path: str, scope: Scope) -> Response:
        """The file at ``path``, a redirect to a directory's slash, or the fallback.

        Raises:
            HTTPException: 404 when nothing answers.
        """
        if not self.config_checked:
            await self.check_config()
            self.config_checked = True
        resource = await self._resource(path)
        if resource is not None:
            full_path, found, is_index = resource
            if is_index and not scope["path"].endswith("/"):
                return await self.get_response(path, scope)  # the toolkit's slash redirect
            return self.file_response(full_path, found, scope)
        if self.fallback == "404.html" or (
            self.fallback == "auto" and await self._has_file("404.html")
        ):
            return await self._fallback("404.html", scope, 404)
        use_index = self.fallback == "index.html" or (
            self.fallback == "auto" and await self._has_file("index.html")
        )
        if use_index and accepts_page(scope):
            return await self._fallback("index.html", scope, 200)
        raise HTTPException(status_code=404)

    async def _fallback(self, name: str, scope: Scope, status_code: int) -> Response:
        found = await self._lookup(name)
        full_path = self._fallback_stat(name, found)
        assert found[1] is not None  # checked by _fallback_stat
        return self.file_response(full_path, found[1], scope, status_code=status_code)


def frontend_endpoint(files: FrontendFiles) -> Callable[..., Any]:
    """The path operation that serves ``files`` (the matched route left the path in scope)."""

    async def serve_frontend(request: Request, response: Response) -> Response:
        served = await files.respond(request.scope[_SCOPE_KEY], request.scope)
        # Headers and cookies the dependencies set on the shared response
        # apply to the file too (FastAPI merges them for frontends).
        served.headers.raw.extend(response.headers.raw)
        return served

    serve_frontend.files = files  # type: ignore[attr-defined]
    return serve_frontend


class FrontendRoute(APIRoute):
    """A frontend build under a path prefix, matched after every other route.

    Built by ``APIRouter.frontend()``; ``include_router`` copies it with the
    include's prefix and dependencies, as any path operation.
    """

    low_priority = True  # the router tries it only when nothing else matched
    # Serving a file is not an operation: telemetry records the request's
    # server span only (no dependency, endpoint or serialization spans), as FastAPI.
    records_operations = False

    @property
    def http_route_template(self) -> str:
        """The ``http.route`` of what it serves: ``<prefix>/{path}``."""
        return self.path.rstrip("/") + "/{path}"

    def __init__(self, path: str, endpoint: Callable[..., Any], **options: Any) -> None:
        options.update(methods=sorted(SERVED_METHODS), include_in_schema=False)
        super().__init__(frontend_path(path), endpoint, **options)
        self.files: FrontendFiles = endpoint.files  # type: ignore[attr-defined]
        # A longer prefix is more specific; "/" is the least.
        self.specificity = 0 if self.path == "/" else len(self.path)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """Any path under the prefix, at a segment boundary; PARTIAL for other methods."""
        if scope["type"] != "http":
            return Match.NONE, {}
        route_path = get_route_path(scope)
        if self.path == "/":
            rest: str | None = route_path.lstrip("/")
        elif route_path == self.path:
            rest = ""
        elif route_path.startswith(self.path + "/"):
            rest = route_path[len(self.path) + 1 :]
        else:
            rest = None
        if rest is None:
            return Match.NONE, {}
        file_path = os.path.normpath(os.path.join(*rest.split("/"))) if rest else "."
        child_scope = {"route": self, _SCOPE_KEY: file_path}
        if scope["method"] not in SERVED_METHODS:
            return Match.PARTIAL, child_scope
        return Match.FULL, child_scope

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve GET/HEAD through the dependencies; refuse other methods without them."""
        if scope["method"] not in SERVED_METHODS:
            await self.files.refuse(scope[_SCOPE_KEY])
        await self.app(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        """Frontends have no name to reverse.

        Raises:
            NoMatchFound: Always.
        """
        raise NoMatchFound(name, path_params)


def add_frontend(
    add_api_route: Callable[..., None],
    path: str,
    *,
    directory: PathLike,
    fallback: Fallback,
    check_dir: bool | Literal["auto"],
    stacklevel: int,
) -> None:
    """Register a frontend through a router's ``add_api_route`` (its prefix and dependencies).

    Raises:
        InvalidDeclarationError: An invalid ``path`` or ``fallback``.
        TrioAPIError: The directory or an explicit fallback file is missing
            (when checked).
    """
    if fallback not in FALLBACKS:
        raise InvalidDeclarationError(
            f"frontend({path!r}): fallback must be 'auto', 'index.html', '404.html', or "
            f"None, not {fallback!r}."
        )
    normalized = frontend_path(path)
    checked = check_frontend_dir(directory, check_dir, stacklevel + 1)
    files = FrontendFiles(directory=directory, fallback=fallback, check_dir=checked)
    add_api_route(
        normalized,
        frontend_endpoint(files),
        route_class_override=FrontendRoute,
        name=f"frontend:{normalized}",
    )
