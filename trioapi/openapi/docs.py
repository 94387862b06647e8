"""The HTML pages that serve the interactive API docs: Swagger UI and ReDoc.

The pages are the ones FastAPI serves, byte for byte, so that custom docs
routes written against FastAPI (self-hosted assets, extra Swagger UI options,
an OAuth2 redirect page) keep working unchanged.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic_core import to_jsonable_python

from trioapi.responses import HTMLResponse

__all__ = [
    "get_redoc_html",
    "get_swagger_ui_html",
    "get_swagger_ui_oauth2_redirect_html",
    "swagger_ui_default_parameters",
]

_FAVICON_URL = "https://fastapi.tiangolo.com/img/favicon.png"

swagger_ui_default_parameters: dict[str, Any] = {
    "dom_id": "#swagger-ui",
    "layout": "BaseLayout",
    "deepLinking": True,
    "showExtensions": True,
    "showCommonExtensions": True,
}
"""Options passed to ``SwaggerUIBundle`` unless ``swagger_ui_parameters`` overrides them."""


def _script_json(value: Any) -> str:
    """Dump ``value`` as JSON that is safe inside an inline ``<script>``.

    ``<``, ``>`` and ``&`` are escaped as JSON unicode escapes, so a value such
    as ``"</script>"`` cannot end the script element early.
    """
    text = json.dumps(to_jsonable_python(value))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _swagger_head(title: str, css_url: str, favicon_url: str, js_url: str, openapi_url: str) -> str:
    """The page up to the opening of the ``SwaggerUIBundle({...})`` call."""
    return f"""
    <!DOCTYPE html>
    <html>
    <head>
    <meta name="viewport" content="width=device-width, initial-scale=1.0">
    <link type="text/css" rel="stylesheet" href="{css_url}">
    <link rel="shortcut icon" href="{favicon_url}">
    <title>{title}</title>
    </head>
    <body>
    <div id="swagger-ui">
    </div>
    <script src="{js_url}"></script>
    <!-- `SwaggerUIBundle` is now available on the page -->
    <script>
    const ui = SwaggerUIBundle({{
        url: '{openapi_url}',
    """


_SWAGGER_PRESETS = """
    presets: [
        SwaggerUIBundle.presets.apis,
        SwaggerUIBundle.SwaggerUIStandalonePreset
        ],
    })"""

_SWAGGER_TAIL = """
    </script>
    </body>
    </html>
    """


def get_swagger_ui_html(
    *,
    openapi_url: str,
    title: str,
    swagger_js_url: str = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js",
    swagger_css_url: str = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css",
    swagger_favicon_url: str = _FAVICON_URL,
    oauth2_redirect_url: str | None = None,
    init_oauth: dict[str, Any] | None = None,
    swagger_ui_parameters: dict[str, Any] | None = None,
) -> HTMLResponse:
    """Build the Swagger UI page for the OpenAPI document at ``openapi_url``.

    Args:
        openapi_url: URL the page loads the OpenAPI JSON from.
        title: The page title.
        swagger_js_url: URL of the ``swagger-ui-bundle.js`` script.
        swagger_css_url: URL of the Swagger UI stylesheet.
        swagger_favicon_url: URL of the page's icon.
        oauth2_redirect_url: Path of the OAuth2 redirect page, relative to the
            page's origin; ``None`` leaves Swagger UI's default.
        init_oauth: Settings for ``ui.initOAuth(...)``, such as ``clientId``.
        swagger_ui_parameters: Options for ``SwaggerUIBundle``, merged over
            ``swagger_ui_default_parameters``.

    Returns:
        An ``HTMLResponse`` with the page.
    """
    parameters = {**swagger_ui_default_parameters, **(swagger_ui_parameters or {})}
    parts = [
        _swagger_head(title, swagger_css_url, swagger_favicon_url, swagger_js_url, openapi_url)
    ]
    parts.extend(
        f"{_script_json(key)}: {_script_json(value)},\n" for key, value in parameters.items()
    )
    if oauth2_redirect_url:
        parts.append(f"oauth2RedirectUrl: window.location.origin + '{oauth2_redirect_url}',")
    parts.append(_SWAGGER_PRESETS)
    if init_oauth:
        parts.append(f"\n        ui.initOAuth({_script_json(init_oauth)})\n        ")
    parts.append(_SWAGGER_TAIL)
    return HTMLResponse("".join(parts))


def get_redoc_html(
    *,
    openapi_url: str,
    title: str,
    redoc_js_url: str = "https://cdn.jsdelivr.net/npm/redoc@2/bundles/redoc.standalone.js",
    redoc_favicon_url: str = _FAVICON_URL,
    with_google_fonts: bool = True,
) -> HTMLResponse:
    """Build the ReDoc page for the OpenAPI document at ``openapi_url``.

    Args:
        openapi_url: URL the page loads the OpenAPI JSON from.
        title: The page title.
        redoc_js_url: URL of ReDoc's standalone bundle.
        redoc_favicon_url: URL of the page's icon.
        with_google_fonts: Load the Montserrat and Roboto fonts ReDoc is
            styled for; turn off for pages that must not call Google.

    Returns:
        An ``HTMLResponse`` with the page.
    """
    fonts = (
        """
    <link href="https://fonts.googleapis.com/css?family=Montserrat:300,400,700|Roboto:300,400,700" rel="stylesheet">
    """
        if with_google_fonts
        else ""
    )
    html = f"""
    <!DOCTYPE html>
    <html>
    <head>
    <title>{title}</title>
    <!-- needed for adaptive design -->
    <meta charset="utf-8"/>
    <meta name="viewport" content="width=device-width, initial-scale=1">
    {fonts}
    <link rel="shortcut icon" href="{redoc_favicon_url}">
    <!--
    ReDoc doesn't change outer page styles
    -->
    <style>
      body {{
        margin: 0;
        padding: 0;
      }}
    </style>
    </head>
    <body>
    <noscript>
        ReDoc requires Javascript to function. Please enable it to browse the documentation.
    </noscript>
    <redoc spec-url="{openapi_url}"></redoc>
    <script src="{redoc_js_url}"> </script>
    </body>
    </html>
    """
    return HTMLResponse(html)


def get_swagger_ui_oauth2_redirect_html() -> HTMLResponse:
    """Build the page an OAuth2 provider redirects back to after Swagger UI's login.

    The page hands the code or token in its URL to the Swagger UI window that
    opened it, then closes itself.

    Returns:
        An ``HTMLResponse`` with the page.
    """
    return HTMLResponse(content=_OAUTH2_REDIRECT_HTML)


_OAUTH2_REDIRECT_HTML = """
    <!doctype html>
    <html lang="en-US">
    <head>
        <title>Swagger UI: OAuth2 Redirect</title>
    </head>
    <body>
    <script>
        'use strict';
        function run () {
            var oauth2 = window.opener.swaggerUIRedirectOauth2;
            var sentState = oauth2.state;
            var redirectUrl = oauth2.redirectUrl;
            var isValid, qp, arr;

            if (/code|token|error/.test(window.location.hash)) {
                qp = window.location.hash.substring(1).replace('?', '&');
            } else {
                qp = location.search.substring(1);
            }

            arr = qp.split("&");
            arr.forEach(function (v,i,_arr) { _arr[i] = '"' + v.replace('=', '":"') + '"';});
            qp = qp ? JSON.parse('{' + arr.join() + '}',
                    function (key, value) {
                        return key === "" ? value : decodeURIComponent(value);
                    }
            ) : {};

            isValid = qp.state === sentState;

            if ((
              oauth2.auth.schema.get("flow") === "accessCode" ||
              oauth2.auth.schema.get("flow") === "authorizationCode" ||
              oauth2.auth.schema.get("flow") === "authorization_code"
            ) && !oauth2.auth.code) {
                if (!isValid) {
                    oauth2.errCb({
                        authId: oauth2.auth.name,
                        source: "auth",
                        level: "warning",
                        message: "Authorization may be unsafe, passed state was changed in server. The passed state wasn't returned from auth server."
                    });
                }

                if (qp.code) {
                    delete oauth2.state;
                    oauth2.auth.code = qp.code;
                    oauth2.callback({auth: oauth2.auth, redirectUrl: redirectUrl});
                } else {
                    let oauthErrorMsg;
                    if (qp.error) {
                        oauthErrorMsg = "["+qp.error+"]: " +
                            (qp.error_description ? qp.error_description+ ". " : "no accessCode received from the server. ") +
                            (qp.error_uri ? "More info: "+qp.error_uri : "");
                    }

                    oauth2.errCb({
                        authId: oauth2.auth.name,
                        source: "auth",
                        level: "error",
                        message: oauthErrorMsg || "[Authorization failed]: no accessCode received from the server."
                    });
                }
            } else {
                oauth2.callback({auth: oauth2.auth, token: qp, isValid: isValid, redirectUrl: redirectUrl});
            }
            window.close();
        }

        if (document.readyState !== 'loading') {
            run();
        } else {
            document.addEventListener('DOMContentLoaded', function () {
                run();
            });
        }
    </script>
    </body>
    </html>
        """
