"""Serve the Swagger UI and ReDoc assets from the app itself, for networks without a CDN.

By default ``/docs`` and ``/redoc`` load their JavaScript and CSS from a CDN.
:func:`serve_docs_assets` mounts local copies under the app and points the
built-in docs pages at them::

    app = TrioAPI()
    serve_docs_assets(app)  # Swagger UI from the "docs-assets" extra

Swagger UI's files come from the ``swagger-ui-bundle-v2`` package
(``pip install 'trioapi[docs-assets]'``, Apache-2.0, Swagger UI 5) or from any
directory laid out like npm's ``swagger-ui-dist``. ReDoc ships no Python
package, so its ``redoc.standalone.js`` is served only when you give its file.
"""

from __future__ import annotations

import importlib.util
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

from trioapi.exceptions import TrioAPIError
from trioapi.staticfiles import StaticFiles
from trioapi.types import ASGIApp

__all__ = [
    "TRIOAPI_FAVICON_URL",
    "AppWithMounts",
    "DocsAssetURLs",
    "docs_asset_urls",
    "find_swagger_ui_directory",
    "has_swagger_ui_package",
    "mount_swagger_ui_fallback",
    "serve_docs_assets",
    "swagger_ui_fallback_script",
]

# trioapi's icon: three linked dots (a trio) on a rounded square. Inline as a
# data: URL, so the docs pages fetch no icon from anyone's site.
_FAVICON_SVG = (
    "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'>"
    "<rect width='32' height='32' rx='7' fill='#1b4965'/>"
    "<path d='M9 21 16 9l7 12z' fill='none' stroke='#bee9e8' stroke-width='2'/>"
    "<circle cx='16' cy='9' r='4' fill='#62b6cb'/>"
    "<circle cx='9' cy='21' r='4' fill='#62b6cb'/>"
    "<circle cx='23' cy='21' r='4' fill='#cae9ff'/>"
    "</svg>"
)
TRIOAPI_FAVICON_URL = "data:image/svg+xml," + quote(_FAVICON_SVG, safe="='/:")
"""The icon of the docs pages a ``TrioAPI`` serves (FastAPI's functions keep FastAPI's)."""

_SWAGGER_FILES = ("swagger-ui-bundle.js", "swagger-ui.css")


class AppWithMounts(Protocol):
    """An app the assets can be mounted on: a ``TrioAPI`` (or any ``Starlette`` app)."""

    def mount(self, path: str, app: ASGIApp, name: str | None = None) -> None: ...


@dataclass(frozen=True, slots=True)
class DocsAssetURLs:
    """Where the docs pages of one app load their assets from (``None``: the CDN default)."""

    swagger_js_url: str | None = None
    swagger_css_url: str | None = None
    swagger_favicon_url: str | None = None
    redoc_js_url: str | None = None


# Kept beside the app rather than on it, so that an app without local assets
# carries nothing, and a dropped app drops its entry.
_ASSET_URLS: weakref.WeakKeyDictionary[AppWithMounts, DocsAssetURLs] = weakref.WeakKeyDictionary()


def docs_asset_urls(app: AppWithMounts) -> DocsAssetURLs:
    """The asset URLs that :func:`serve_docs_assets` set for ``app``, or all ``None``."""
    return _ASSET_URLS.get(app, DocsAssetURLs())


def has_swagger_ui_package() -> bool:
    """Whether the ``docs-assets`` extra (``swagger-ui-bundle-v2``) is installed."""
    return importlib.util.find_spec("swagger_ui_bundle") is not None


def find_swagger_ui_directory() -> Path:
    """The Swagger UI files of the installed ``swagger-ui-bundle-v2`` package.

    Raises:
        TrioAPIError: When the package is not installed.
    """
    try:
        from swagger_ui_bundle import (  # type: ignore[import-not-found,import-untyped,unused-ignore]
            swagger_ui_path,
        )
    except ImportError:
        raise TrioAPIError(
            "serve_docs_assets(app) found no Swagger UI files: the 'swagger-ui-bundle-v2' "
            "package is not installed. Install it with `pip install 'trioapi[docs-assets]'`, "
            "or pass swagger_ui_directory= a copy of npm's swagger-ui-dist."
        ) from None
    return Path(str(swagger_ui_path))


def serve_docs_assets(
    app: AppWithMounts,
    *,
    path: str = "/docs-assets",
    swagger_ui_directory: str | Path | None = None,
    redoc_js_file: str | Path | None = None,
) -> None:
    """Mount the docs assets under ``path`` and make ``/docs`` (and ``/redoc``) use them.

    Args:
        app: The application whose docs pages should load local assets.
        path: Where to mount the files; ``/docs-assets/swagger-ui/…`` and
            ``/docs-assets/redoc/…`` below it. Behind a proxy the ASGI
            ``root_path`` is put in front, as for the OpenAPI URL.
        swagger_ui_directory: A directory holding ``swagger-ui-bundle.js`` and
            ``swagger-ui.css``; by default the ``swagger-ui-bundle-v2`` package's.
        redoc_js_file: ReDoc's ``redoc.standalone.js``; without it ``/redoc``
            keeps loading ReDoc from the CDN.

    Raises:
        TrioAPIError: When the Swagger UI files or the ReDoc file are missing.
    """
    prefix = path.rstrip("/")
    directory = Path(swagger_ui_directory) if swagger_ui_directory else find_swagger_ui_directory()
    swagger = _mount_swagger_ui(app, prefix, directory)
    favicon = (
        f"{swagger}/favicon-32x32.png" if (directory / "favicon-32x32.png").is_file() else None
    )
    redoc_js_url = None
    if redoc_js_file is not None:
        redoc_file = Path(redoc_js_file)
        if not redoc_file.is_file():
            raise TrioAPIError(
                f"serve_docs_assets(app): redoc_js_file {redoc_file} does not exist. Pass the "
                "path of ReDoc's bundles/redoc.standalone.js, or leave it out to use the CDN."
            )
        app.mount(f"{prefix}/redoc", StaticFiles(directory=redoc_file.parent), name="redoc-assets")
        redoc_js_url = f"{prefix}/redoc/{redoc_file.name}"
    _ASSET_URLS[app] = DocsAssetURLs(
        swagger_js_url=f"{swagger}/swagger-ui-bundle.js",
        swagger_css_url=f"{swagger}/swagger-ui.css",
        swagger_favicon_url=favicon,
        redoc_js_url=redoc_js_url,
    )


def _mount_swagger_ui(app: AppWithMounts, prefix: str, directory: Path) -> str:
    """Mount Swagger UI's files from ``directory``; returns the URL path they are under."""
    missing = [name for name in _SWAGGER_FILES if not (directory / name).is_file()]
    if missing:
        raise TrioAPIError(
            f"serve_docs_assets(app): {directory} has no {', '.join(missing)}. Pass "
            "swagger_ui_directory= a directory laid out like npm's swagger-ui-dist."
        )
    swagger = f"{prefix}/swagger-ui"
    app.mount(swagger, StaticFiles(directory=directory), name="swagger-ui-assets")
    return swagger


def mount_swagger_ui_fallback(
    app: AppWithMounts, path: str = "/docs-assets/fallback"
) -> str | None:
    """Serve the ``docs-assets`` extra's Swagger UI files, for ``/docs`` to fall back on.

    The page keeps loading Swagger UI from the CDN, as FastAPI's does; when
    that fails (no internet), a script loads the app's own copy instead.

    The files are under a path of their own, so that ``serve_docs_assets()``
    with a directory of the user's (mounted at ``/docs-assets/swagger-ui``) is
    never shadowed by this earlier mount.

    Returns:
        The URL path of the files, or ``None`` when the extra is not installed.
    """
    if not has_swagger_ui_package():
        return None
    return _mount_swagger_ui(app, path.rstrip("/"), find_swagger_ui_directory())


def swagger_ui_fallback_script(root: str) -> str:
    """The ``<script>`` that loads Swagger UI from ``root`` when the CDN's did not load."""
    local = (
        f'<link rel="stylesheet" href="{root}/swagger-ui.css">'
        f'<script src="{root}/swagger-ui-bundle.js"><\\/script>'
    )
    return f"<script>window.SwaggerUIBundle || document.write('{local}')</script>"
