"""The routes that serve the OpenAPI document and the interactive docs pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from trioapi.openapi.assets import (
    TRIOAPI_FAVICON_URL,
    AppWithMounts,
    docs_asset_urls,
    mount_swagger_ui_fallback,
    swagger_ui_fallback_script,
)
from trioapi.requests import Request
from trioapi.responses import HTMLResponse, JSONResponse


class DocsApp(AppWithMounts, Protocol):
    """What the docs routes read from the app (a ``TrioAPI``), when installed and per request.

    A protocol rather than ``TrioAPI`` itself: the application imports this
    module, so this module cannot import the application.
    """

    title: str
    openapi_url: str | None
    docs_url: str | None
    redoc_url: str | None
    root_path_in_servers: bool
    swagger_ui_oauth2_redirect_url: str | None
    swagger_ui_init_oauth: dict[str, Any] | None
    swagger_ui_parameters: dict[str, Any] | None

    def openapi(self) -> dict[str, Any]: ...

    def add_route(self, path: str, route: Callable[..., Any], **options: Any) -> None: ...


def install_docs_routes(app: DocsApp) -> None:
    """Add ``openapi_url``, ``docs_url``, its OAuth2 redirect and ``redoc_url`` when set."""
    if not app.openapi_url:
        return
    openapi_url = app.openapi_url

    async def openapi(request: Request) -> JSONResponse:
        root_path = request.scope.get("root_path", "").rstrip("/")
        schema = app.openapi()
        if root_path and app.root_path_in_servers:
            servers = schema.get("servers") or []
            if root_path not in {server.get("url") for server in servers}:
                schema = {**schema, "servers": [{"url": root_path}, *servers]}
        return JSONResponse(schema)

    app.add_route(openapi_url, openapi, include_in_schema=False)
    if app.docs_url:
        _install_swagger_ui(app, openapi_url, app.docs_url)
    if app.redoc_url:

        async def redoc_html(request: Request) -> HTMLResponse:
            from trioapi.openapi.docs import get_redoc_html

            root_path = request.scope.get("root_path", "").rstrip("/")
            assets = docs_asset_urls(app)
            options: dict[str, Any] = {}
            if assets.redoc_js_url:
                options["redoc_js_url"] = root_path + assets.redoc_js_url
            options["redoc_favicon_url"] = TRIOAPI_FAVICON_URL
            return get_redoc_html(
                openapi_url=root_path + openapi_url, title=f"{app.title} - ReDoc", **options
            )

        app.add_route(app.redoc_url, redoc_html, include_in_schema=False)


_BUNDLE_MARK = "<!-- `SwaggerUIBundle` is now available on the page -->"


def _install_swagger_ui(app: DocsApp, openapi_url: str, docs_url: str) -> None:
    redirect_url = app.swagger_ui_oauth2_redirect_url
    # With the docs-assets extra installed, the page falls back on the app's
    # own copy when the CDN cannot be reached (and keeps FastAPI's page otherwise).
    fallback_root = mount_swagger_ui_fallback(app)

    async def swagger_ui_html(request: Request) -> HTMLResponse:
        from trioapi.openapi.docs import get_swagger_ui_html

        root_path = request.scope.get("root_path", "").rstrip("/")
        oauth2_redirect_url = root_path + redirect_url if redirect_url else None
        options: dict[str, Any] = {}
        if app.swagger_ui_parameters:
            options["swagger_ui_parameters"] = app.swagger_ui_parameters
        assets = docs_asset_urls(app)
        options["swagger_favicon_url"] = TRIOAPI_FAVICON_URL
        for name in ("swagger_js_url", "swagger_css_url", "swagger_favicon_url"):
            # Set by serve_docs_assets(); otherwise the page keeps its CDN defaults.
            if url := getattr(assets, name):
                options[name] = root_path + url
        page = get_swagger_ui_html(
            openapi_url=root_path + openapi_url,
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=oauth2_redirect_url,
            init_oauth=app.swagger_ui_init_oauth,
            **options,
        )
        if fallback_root is None or assets.swagger_js_url:
            return page
        script = swagger_ui_fallback_script(root_path + fallback_root)
        html = bytes(page.body).decode().replace(_BUNDLE_MARK, script + "\n    " + _BUNDLE_MARK)
        return HTMLResponse(html)

    app.add_route(docs_url, swagger_ui_html, include_in_schema=False)
    if redirect_url:

        async def swagger_ui_redirect(request: Request) -> HTMLResponse:
            from trioapi.openapi.docs import get_swagger_ui_oauth2_redirect_html

            return get_swagger_ui_oauth2_redirect_html()

        app.add_route(redirect_url, swagger_ui_redirect, include_in_schema=False)
