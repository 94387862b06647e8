"""serve_docs_assets(): the docs pages load Swagger UI and ReDoc from the app itself."""

import sys
from pathlib import Path

import pytest

from trioapi import TrioAPI
from trioapi.exceptions import TrioAPIError
from trioapi.openapi import assets
from trioapi.openapi.assets import TRIOAPI_FAVICON_URL, serve_docs_assets
from trioapi.testclient import TestClient


@pytest.fixture
def swagger_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "swagger"
    directory.mkdir()
    (directory / "swagger-ui-bundle.js").write_text("window.SwaggerUIBundle = 1;")
    (directory / "swagger-ui.css").write_text("body {}")
    (directory / "favicon-32x32.png").write_bytes(b"\x89PNG")
    return directory


def test_docs_page_loads_swagger_ui_from_the_app_and_the_files_are_served(swagger_dir: Path):
    app = TrioAPI()
    serve_docs_assets(app, swagger_ui_directory=swagger_dir)
    client = TestClient(app)
    page = client.get("/docs").text
    assert '<script src="/docs-assets/swagger-ui/swagger-ui-bundle.js"></script>' in page
    assert 'href="/docs-assets/swagger-ui/swagger-ui.css"' in page
    assert 'href="/docs-assets/swagger-ui/favicon-32x32.png"' in page
    assert "cdn.jsdelivr.net" not in page
    script = client.get("/docs-assets/swagger-ui/swagger-ui-bundle.js")
    assert script.status_code == 200
    assert script.text == "window.SwaggerUIBundle = 1;"
    assert client.get("/docs-assets/swagger-ui/swagger-ui.css").text == "body {}"


def test_asset_urls_follow_the_asgi_root_path(swagger_dir: Path):
    app = TrioAPI()
    serve_docs_assets(app, path="/static/docs/", swagger_ui_directory=swagger_dir)
    page = TestClient(app, root_path="/api").get("/docs").text
    assert '<script src="/api/static/docs/swagger-ui/swagger-ui-bundle.js"></script>' in page


def test_redoc_keeps_the_cdn_unless_given_its_file(swagger_dir: Path, tmp_path: Path):
    app = TrioAPI()
    serve_docs_assets(app, swagger_ui_directory=swagger_dir)
    assert "cdn.jsdelivr.net/npm/redoc@2" in TestClient(app).get("/redoc").text

    redoc = tmp_path / "redoc" / "redoc.standalone.js"
    redoc.parent.mkdir()
    redoc.write_text("var Redoc = {};")
    app = TrioAPI()
    serve_docs_assets(app, swagger_ui_directory=swagger_dir, redoc_js_file=redoc)
    client = TestClient(app)
    page = client.get("/redoc").text
    assert '<script src="/docs-assets/redoc/redoc.standalone.js"> </script>' in page
    assert client.get("/docs-assets/redoc/redoc.standalone.js").text == "var Redoc = {};"


def test_apps_without_local_assets_keep_the_cdn(swagger_dir: Path):
    serve_docs_assets(TrioAPI(), swagger_ui_directory=swagger_dir)
    page = TestClient(TrioAPI()).get("/docs").text
    assert "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js" in page


def test_a_directory_without_swagger_ui_files_is_refused_at_setup(tmp_path: Path):
    with pytest.raises(TrioAPIError, match=r"has no swagger-ui-bundle\.js, swagger-ui\.css"):
        serve_docs_assets(TrioAPI(), swagger_ui_directory=tmp_path)


def test_a_missing_redoc_file_is_refused_at_setup(swagger_dir: Path, tmp_path: Path):
    with pytest.raises(TrioAPIError, match="redoc_js_file .* does not exist"):
        serve_docs_assets(
            TrioAPI(), swagger_ui_directory=swagger_dir, redoc_js_file=tmp_path / "nope.js"
        )


def test_without_the_extra_installed_the_error_names_it(monkeypatch: pytest.MonkeyPatch):
    import sys

    monkeypatch.setitem(sys.modules, "swagger_ui_bundle", None)
    with pytest.raises(TrioAPIError, match=r"pip install 'trioapi\[docs-assets\]'"):
        serve_docs_assets(TrioAPI())


def test_with_the_extra_installed_docs_fall_back_on_the_apps_own_assets(
    swagger_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    package = tmp_path / "site" / "swagger_ui_bundle"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(f"swagger_ui_path = {str(swagger_dir)!r}\n")
    monkeypatch.syspath_prepend(str(package.parent))
    monkeypatch.delitem(sys.modules, "swagger_ui_bundle", raising=False)
    client = TestClient(TrioAPI())
    page = client.get("/docs").text
    # FastAPI's page first (the CDN), then the app's copy if the CDN's did not load.
    assert "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js" in page
    fallback = (
        "<script>window.SwaggerUIBundle || document.write('"
        '<link rel="stylesheet" href="/docs-assets/fallback/swagger-ui/swagger-ui.css">'
        '<script src="/docs-assets/fallback/swagger-ui/swagger-ui-bundle.js"><\\/script>'
        "')</script>"
    )
    assert page.index("swagger-ui-dist@5/swagger-ui-bundle.js") < page.index(fallback)
    assert page.index(fallback) < page.index("const ui = SwaggerUIBundle(")
    assert client.get("/docs-assets/fallback/swagger-ui/swagger-ui.css").text == "body {}"
    assert "/docs-assets" not in client.get("/openapi.json").text
    behind_proxy = TestClient(TrioAPI(), root_path="/api").get("/docs").text
    assert 'src="/api/docs-assets/fallback/swagger-ui/swagger-ui-bundle.js' in behind_proxy


def test_without_the_extra_docs_use_the_cdn_and_trioapis_own_icon():
    client = TestClient(TrioAPI())
    for page in (client.get("/docs").text, client.get("/redoc").text):
        assert f'<link rel="shortcut icon" href="{TRIOAPI_FAVICON_URL}">' in page
        assert "fastapi.tiangolo.com" not in page
    assert "cdn.jsdelivr.net/npm/swagger-ui-dist@5" in client.get("/docs").text
    assert TRIOAPI_FAVICON_URL.startswith("data:image/svg+xml,%3Csvg%20xmlns=")


def test_a_directory_given_wins_over_the_installed_extras_fallback(
    swagger_dir, tmp_path, monkeypatch
):
    # With the docs-assets extra installed, /docs mounts its fallback copy when the
    # app is built; the directory given to serve_docs_assets() must still be served.
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "swagger-ui-bundle.js").write_text("window.SwaggerUIBundle = 'extra';")
    (extra / "swagger-ui.css").write_text("body { color: red }")
    monkeypatch.setattr(assets, "has_swagger_ui_package", lambda: True)
    monkeypatch.setattr(assets, "find_swagger_ui_directory", lambda: extra)
    app = TrioAPI()
    serve_docs_assets(app, swagger_ui_directory=swagger_dir)
    client = TestClient(app)
    assert client.get("/docs-assets/swagger-ui/swagger-ui-bundle.js").text == (
        "window.SwaggerUIBundle = 1;"
    )
    assert client.get("/docs-assets/fallback/swagger-ui/swagger-ui.css").text == (
        "body { color: red }"
    )
