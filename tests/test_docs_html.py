"""The Swagger UI, ReDoc and OAuth2 redirect pages."""

from trioapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
    swagger_ui_default_parameters,
)
from trioapi.responses import HTMLResponse


def text(response: HTMLResponse) -> str:
    return bytes(response.body).decode("utf-8")


def test_swagger_ui_page_uses_fastapi_cdn_assets_and_default_parameters():
    response = get_swagger_ui_html(openapi_url="/openapi.json", title="TrioAPI - Swagger UI")
    assert isinstance(response, HTMLResponse)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    html = text(response)
    assert "<title>TrioAPI - Swagger UI</title>" in html
    assert "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js" in html
    assert "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css" in html
    assert '<link rel="shortcut icon" href="https://fastapi.tiangolo.com/img/favicon.png">' in html
    assert "url: '/openapi.json'," in html
    for line in [
        '"dom_id": "#swagger-ui",',
        '"layout": "BaseLayout",',
        '"deepLinking": true,',
        '"showExtensions": true,',
        '"showCommonExtensions": true,',
    ]:
        assert line in html
    assert "presets: [" in html
    assert "SwaggerUIBundle.presets.apis," in html
    assert "SwaggerUIBundle.SwaggerUIStandalonePreset" in html
    assert "oauth2RedirectUrl" not in html
    assert "initOAuth" not in html


def test_swagger_ui_parameters_override_the_defaults_without_losing_them():
    html = text(
        get_swagger_ui_html(
            openapi_url="/o.json",
            title="t",
            swagger_ui_parameters={"deepLinking": False, "syntaxHighlight": {"theme": "obsidian"}},
        )
    )
    assert '"deepLinking": false,' in html
    assert '"deepLinking": true' not in html
    assert '"syntaxHighlight": {"theme": "obsidian"},' in html
    assert '"layout": "BaseLayout",' in html
    assert swagger_ui_default_parameters["deepLinking"] is True


def test_swagger_ui_oauth2_redirect_and_init_oauth():
    html = text(
        get_swagger_ui_html(
            openapi_url="/o.json",
            title="t",
            oauth2_redirect_url="/docs/oauth2-redirect",
            init_oauth={"clientId": "my-client", "usePkceWithAuthorizationCodeGrant": True},
        )
    )
    assert "oauth2RedirectUrl: window.location.origin + '/docs/oauth2-redirect'," in html
    assert (
        'ui.initOAuth({"clientId": "my-client", "usePkceWithAuthorizationCodeGrant": true})' in html
    )


def test_swagger_ui_parameters_cannot_close_the_script_element():
    html = text(
        get_swagger_ui_html(
            openapi_url="/o", title="t", swagger_ui_parameters={"x": "</script><b>&"}
        )
    )
    assert '"x": "\\u003c/script\\u003e\\u003cb\\u003e\\u0026",' in html
    assert html.count("</script>") == 2


def test_swagger_ui_custom_assets():
    html = text(
        get_swagger_ui_html(
            openapi_url="/o",
            title="t",
            swagger_js_url="/static/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger-ui.css",
            swagger_favicon_url="/static/favicon.png",
        )
    )
    assert '<script src="/static/swagger-ui-bundle.js"></script>' in html
    assert 'href="/static/swagger-ui.css"' in html
    assert 'href="/static/favicon.png"' in html
    assert "cdn.jsdelivr.net" not in html


def test_redoc_page():
    html = text(get_redoc_html(openapi_url="/openapi.json", title="TrioAPI - ReDoc"))
    assert "<title>TrioAPI - ReDoc</title>" in html
    assert '<redoc spec-url="/openapi.json"></redoc>' in html
    assert (
        '<script src="https://cdn.jsdelivr.net/npm/redoc@2/bundles/redoc.standalone.js"> </script>'
        in html
    )
    assert (
        "https://fonts.googleapis.com/css?family=Montserrat:300,400,700|Roboto:300,400,700" in html
    )
    assert 'href="https://fastapi.tiangolo.com/img/favicon.png"' in html


def test_redoc_page_without_google_fonts_and_with_own_assets():
    html = text(
        get_redoc_html(
            openapi_url="/o",
            title="t",
            redoc_js_url="/static/redoc.js",
            redoc_favicon_url="/static/f.png",
            with_google_fonts=False,
        )
    )
    assert "fonts.googleapis.com" not in html
    assert '<script src="/static/redoc.js"> </script>' in html
    assert 'href="/static/f.png"' in html


def test_oauth2_redirect_page_hands_the_result_to_swagger_ui():
    html = text(get_swagger_ui_oauth2_redirect_html())
    assert "<title>Swagger UI: OAuth2 Redirect</title>" in html
    assert "window.opener.swaggerUIRedirectOauth2" in html
    assert (
        "oauth2.callback({auth: oauth2.auth, token: qp, isValid: isValid, redirectUrl: redirectUrl});"
        in html
    )
    assert "window.close();" in html
