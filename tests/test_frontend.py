"""APIRouter.frontend() / TrioAPI.frontend(): a static build served after every route."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.serving import run_hypercorn
from trioapi import (
    APIRouter,
    BackgroundTasks,
    Depends,
    HTTPException,
    Response,
    TrioAPI,
    WebSocket,
)
from trioapi.exceptions import InvalidDeclarationError, TrioAPIError
from trioapi.routing import NoMatchFound
from trioapi.testclient import TestClient

PAGE = {"accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"}


def build(root: Path, files: dict[str, str]) -> Path:
    """Write ``files`` (relative path: text) under ``root``; return ``root``."""
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    return build(
        tmp_path / "dist",
        {"index.html": "app", "assets/app.js": "js", "guide/index.html": "guide"},
    )


def client_for(dist: Path, **frontend: object) -> TestClient:
    app = TrioAPI()

    @app.get("/api/items")
    def items() -> list[int]:
        return [1]

    app.frontend("/", directory=dist, **frontend)  # type: ignore[arg-type]
    return TestClient(app)


def test_files_index_and_directory_index(dist: Path) -> None:
    client = client_for(dist)
    assert (client.get("/").status_code, client.get("/").text) == (200, "app")
    asset = client.get("/assets/app.js")
    assert (asset.status_code, asset.text) == (200, "js")
    assert asset.headers["content-type"].startswith("text/javascript")
    assert client.get("/guide/").text == "guide"
    redirect = client.get("/guide", follow_redirects=False)
    assert (redirect.status_code, redirect.headers["location"]) == (307, "http://testserver/guide/")
    head = client.head("/assets/app.js")
    assert (head.status_code, head.text, head.headers["content-length"]) == (200, "", "2")


def test_api_routes_win_and_their_404_is_kept(dist: Path) -> None:
    app = TrioAPI()

    @app.get("/assets/app.js")
    def shadow() -> str:
        return "api"

    @app.get("/missing")
    def missing() -> None:
        raise HTTPException(404, "no such item")

    app.frontend("/", directory=dist)
    client = TestClient(app)
    assert client.get("/assets/app.js").json() == "api"
    answer = client.get("/missing", headers=PAGE)
    assert (answer.status_code, answer.json()) == (404, {"detail": "no such item"})


def test_slash_redirect_of_an_api_route_wins(dist: Path) -> None:
    answer = client_for(dist).get("/api/items/", follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (307, "http://testserver/api/items")


def test_index_fallback_only_for_navigations(dist: Path) -> None:
    client = client_for(dist)
    assert (
        client.get("/dashboard/7", headers=PAGE).status_code,
        client.get("/x", headers=PAGE).text,
    ) == (
        200,
        "app",
    )
    for accept in ("", "application/json", "*/*", "text/html;q=0", "text/html; q=0.0, */*"):
        answer = client.get("/dashboard", headers={"accept": accept})
        assert (accept, answer.status_code) == (accept, 404)
    assert client.get("/x", headers={"accept": "text/html;q=oops"}).text == "app"
    assert client.get("/x", headers={"accept": "application/xhtml+xml"}).text == "app"


def test_404_html_wins_over_index_in_auto(dist: Path) -> None:
    build(dist, {"404.html": "nope"})
    answer = client_for(dist).get("/dashboard", headers=PAGE)
    assert (answer.status_code, answer.text) == (404, "nope")


def test_explicit_and_no_fallback(dist: Path) -> None:
    answer = client_for(dist, fallback="index.html").get("/dashboard", headers=PAGE)
    assert (answer.status_code, answer.text) == (200, "app")
    answer = client_for(dist, fallback=None).get("/dashboard", headers=PAGE)
    assert (answer.status_code, answer.json()) == (404, {"detail": "Not Found"})
    with pytest.raises(TrioAPIError, match="'404.html' does not exist in directory"):
        client_for(dist, fallback="404.html")
    # Unchecked, the missing fallback file fails at the request instead.
    with pytest.raises(TrioAPIError, match="'404.html' does not exist in directory"):
        client_for(dist, fallback="404.html", check_dir=False).get("/x")


def test_other_methods_405_for_files_404_otherwise(dist: Path) -> None:
    client = client_for(dist)
    answer = client.post("/assets/app.js")
    assert (answer.status_code, answer.headers["allow"]) == (405, "GET, HEAD")
    assert client.delete("/").status_code == 405  # the root's index.html
    assert client.put("/guide").status_code == 405
    assert client.post("/dashboard", headers=PAGE).status_code == 404  # no fallback for POST
    assert client.post("/api/items").status_code == 405  # the API route's own 405


def test_prefixes_match_at_segment_boundaries_longest_first(tmp_path: Path) -> None:
    site = build(tmp_path / "site", {"index.html": "site"})
    admin = build(tmp_path / "admin", {"index.html": "admin", "a.txt": "A"})
    app = TrioAPI()
    app.frontend("/", directory=site)
    app.frontend("/admin/", directory=admin)  # trailing slash normalised
    client = TestClient(app)
    assert client.get("/admin/a.txt").text == "A"
    assert client.get("/admin/deep/link", headers=PAGE).text == "admin"
    assert client.get("/administrator", headers=PAGE).text == "site"
    assert client.get("/a.txt").status_code == 404


def test_router_prefix_include_prefix_and_nesting(dist: Path) -> None:
    inner = APIRouter(prefix="/ui")
    inner.frontend("/", directory=dist)
    middle = APIRouter()
    middle.include_router(inner, prefix="/v1")
    app = TrioAPI()
    app.include_router(middle, prefix="/app")
    client = TestClient(app)
    assert client.get("/app/v1/ui/assets/app.js").text == "js"
    assert client.get("/app/v1/ui/x", headers=PAGE).text == "app"
    assert client.get("/assets/app.js").status_code == 404
    redirect = client.get("/app/v1/ui", follow_redirects=False)
    assert redirect.headers["location"] == "http://testserver/app/v1/ui/"


def test_dependencies_of_app_router_and_include_run_in_order(dist: Path) -> None:
    calls: list[str] = []

    def mark(name: str):  # type: ignore[no-untyped-def]
        return Depends(lambda: calls.append(name))

    router = APIRouter(dependencies=[mark("router")])
    router.frontend("/", directory=dist)
    app = TrioAPI(dependencies=[mark("app")])
    app.include_router(router, prefix="/ui", dependencies=[mark("include")])
    client = TestClient(app)
    assert client.get("/ui/assets/app.js").text == "js"
    assert calls == ["app", "include", "router"]
    calls.clear()
    assert client.post("/ui/assets/app.js").status_code == 405
    assert calls == []  # refused methods do not run dependencies


def test_dependency_can_refuse_and_override(dist: Path) -> None:
    def guard() -> None:
        raise HTTPException(401, "log in")

    app = TrioAPI(dependencies=[Depends(guard)])
    app.frontend("/", directory=dist)
    client = TestClient(app)
    assert (client.get("/").status_code, client.get("/x", headers=PAGE).json()) == (
        401,
        {"detail": "log in"},
    )
    app.dependency_overrides[guard] = lambda: None
    assert client.get("/").text == "app"


def test_dependency_headers_cookies_and_background_tasks(dist: Path) -> None:
    calls: list[str] = []

    def decorate(response: Response, tasks: BackgroundTasks) -> None:
        response.headers["x-frontend"] = "yes"
        response.set_cookie("seen", "1")
        tasks.add_task(calls.append, "background")

    app = TrioAPI(dependencies=[Depends(decorate)])
    app.frontend("/", directory=dist)
    answer = TestClient(app).get("/assets/app.js")
    assert (answer.text, answer.headers["x-frontend"], answer.cookies["seen"]) == ("js", "yes", "1")
    assert calls == ["background"]


def test_invalid_declarations(dist: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = TrioAPI()
    for path in ("", "app"):
        with pytest.raises(InvalidDeclarationError, match="must start with '/'"):
            app.frontend(path, directory=dist)
    with pytest.raises(InvalidDeclarationError, match="fallback must be"):
        app.frontend("/", directory=dist, fallback="200.html")  # type: ignore[arg-type]
    with pytest.raises(TrioAPIError, match="Frontend directory .* does not exist"):
        app.frontend("/", directory=tmp_path / "absent")
    monkeypatch.setenv("TRIOAPI_ENV", "development")
    with pytest.warns(UserWarning, match="does not exist") as warned:
        APIRouter().frontend("/", directory=tmp_path / "absent")
    assert warned[0].filename == __file__  # points at the caller
    with pytest.raises(TrioAPIError):
        app.frontend("/", directory=tmp_path / "absent", check_dir=True)


def test_missing_directory_unchecked_fails_at_request(tmp_path: Path) -> None:
    app = TrioAPI()
    app.frontend("/", directory=tmp_path / "later", check_dir=False)
    with pytest.raises(RuntimeError, match="does not exist"):
        TestClient(app).get("/")


def test_not_in_openapi_and_not_reversible(dist: Path) -> None:
    client = client_for(dist)
    app = client.app
    assert list(app.openapi()["paths"]) == ["/api/items"]  # type: ignore[attr-defined]
    assert app.url_path_for("items") == "/api/items"  # type: ignore[attr-defined]
    frontend = app.router.routes[-1]  # type: ignore[attr-defined]
    with pytest.raises(NoMatchFound):
        frontend.url_path_for("items")


def test_traversal_and_symlinks_stay_inside(dist: Path, tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("secret")
    (dist / "leak.txt").symlink_to(tmp_path / "secret.txt")
    client = client_for(dist, fallback=None)
    for target in ("/leak.txt", "/../secret.txt", "/assets/%2e%2e/%2e%2e/secret.txt"):
        answer = client.get(target)
        assert (target, answer.status_code) == (target, 404)


def test_websocket_routes_are_not_shadowed(dist: Path) -> None:
    app = TrioAPI()

    @app.websocket("/ws")
    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("hi")
        await websocket.close()

    app.frontend("/", directory=dist)
    with TestClient(app).websocket_connect("/ws") as socket:
        assert socket.receive_text() == "hi"


def test_root_path_is_honoured(dist: Path) -> None:
    app = TrioAPI()
    app.frontend("/app", directory=dist)
    client = TestClient(app, root_path="/base")
    assert client.get("/base/app/assets/app.js").text == "js"
    redirect = client.get("/base/app", follow_redirects=False)
    assert redirect.headers["location"] == "http://testserver/base/app/"


async def test_served_through_hypercorn(dist: Path) -> None:
    app = TrioAPI()

    @app.get("/api/items")
    def items() -> list[int]:
        return [1]

    app.frontend("/", directory=dist)
    async with run_hypercorn(app) as url, httpx.AsyncClient(base_url=url) as client:
        api = await client.get("/api/items")
        asset = await client.get("/assets/app.js")
        page = await client.get("/deep/link", headers=PAGE)
        fetch = await client.get("/deep/link")
        refused = await client.post("/assets/app.js")
    assert (api.status_code, api.json()) == (200, [1])
    assert (asset.status_code, asset.text, asset.headers["content-length"]) == (200, "js", "2")
    assert (page.status_code, page.text) == (200, "app")
    assert fetch.status_code == 404
    assert (refused.status_code, refused.headers["allow"]) == (405, "GET, HEAD")
