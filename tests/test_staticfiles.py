"""StaticFiles: serving, mounts, html mode, 304s and refusing to leave the directory."""

from __future__ import annotations

from email.utils import formatdate
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from tests.serving import run_hypercorn
from tests.test_responses import Sent, call, http_scope
from trioapi import TrioAPI
from trioapi.exceptions import HTTPException, TrioAPIError
from trioapi.staticfiles import StaticFiles


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """tmp/secret.txt outside the served tmp/static directory, and files inside it."""
    (tmp_path / "secret.txt").write_text("top secret")
    static = tmp_path / "static"
    (static / "css").mkdir(parents=True)
    (static / "example.txt").write_text("hello")
    (static / "css" / "site.css").write_text("body {}")
    return static


async def get(app: StaticFiles, path: str, **kwargs: Any) -> Sent:
    return await call(app, http_scope(path, **kwargs))


async def status_of(app: StaticFiles, path: str, **kwargs: Any) -> int:
    try:
        sent = await get(app, path, **kwargs)
    except HTTPException as exc:
        return exc.status_code
    return sent.status


async def test_serves_a_file(root: Path) -> None:
    sent = await get(StaticFiles(directory=root), "/example.txt")
    assert sent.status == 200
    assert sent.body == b"hello"
    assert sent.header("content-type") == "text/plain; charset=utf-8"
    assert sent.header("content-length") == "5"


async def test_serves_a_nested_file(root: Path) -> None:
    sent = await get(StaticFiles(directory=str(root)), "/css/site.css")
    assert (sent.status, sent.body, sent.header("content-type")) == (
        200,
        b"body {}",
        "text/css; charset=utf-8",
    )


async def test_serves_the_path_below_the_mount(root: Path) -> None:
    app = StaticFiles(directory=root)
    sent = await get(app, "/static/css/site.css", root_path="/static")
    assert sent.body == b"body {}"
    # A router that strips the prefix itself leaves a path not under root_path.
    stripped = await get(app, "/css/site.css", root_path="/static")
    assert stripped.body == b"body {}"


async def test_head_sends_headers_only(root: Path) -> None:
    sent = await get(StaticFiles(directory=root), "/example.txt", method="HEAD")
    assert (sent.status, sent.header("content-length"), sent.body) == (200, "5", b"")


async def test_range_requests_work_through_static_files(root: Path) -> None:
    sent = await get(StaticFiles(directory=root), "/example.txt", headers=[("range", "bytes=1-3")])
    assert (sent.status, sent.body, sent.header("content-range")) == (206, b"ell", "bytes 1-3/5")


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
async def test_other_methods_are_405(root: Path, method: str) -> None:
    with pytest.raises(HTTPException) as info:
        await get(StaticFiles(directory=root), "/example.txt", method=method)
    assert info.value.status_code == 405
    assert info.value.headers == {"Allow": "GET, HEAD"}


async def test_missing_file_is_404(root: Path) -> None:
    with pytest.raises(HTTPException) as info:
        await get(StaticFiles(directory=root), "/nope.txt")
    assert (info.value.status_code, info.value.detail) == (404, "Not Found")


async def test_directory_without_html_mode_is_404(root: Path) -> None:
    assert await status_of(StaticFiles(directory=root), "/css") == 404
    assert await status_of(StaticFiles(directory=root), "/") == 404


@pytest.mark.parametrize(
    ("path", "raw_path"),
    [
        ("/../secret.txt", b"/../secret.txt"),
        ("/css/../../secret.txt", b"/css/../../secret.txt"),
        ("/../secret.txt", b"/%2e%2e/secret.txt"),  # decoded by the server
        ("/%2e%2e/secret.txt", b"/%252e%252e/secret.txt"),  # double-encoded: stays literal
        ("/..%2fsecret.txt", b"/..%252fsecret.txt"),
        ("/../secret.txt", b"/..%2fsecret.txt"),
        ("/..\\secret.txt", b"/..%5csecret.txt"),
        ("/css\\..\\..\\secret.txt", b"/css%5c..%5c..%5csecret.txt"),
        ("//etc/passwd", b"//etc/passwd"),
        ("/example.txt\x00.png", b"/example.txt%00.png"),
        ("/\x00", b"/%00"),
        ("/" + "a" * 5000, b"/" + b"a" * 5000),
    ],
)
async def test_paths_that_escape_or_are_invalid_are_404(
    root: Path, path: str, raw_path: bytes
) -> None:
    app = StaticFiles(directory=root)
    assert await status_of(app, path, raw_path=raw_path) == 404


async def test_get_response_refuses_an_absolute_path_from_a_subclass(root: Path) -> None:
    app = StaticFiles(directory=root)
    with pytest.raises(HTTPException) as info:
        await app.get_response(str(root.parent / "secret.txt"), http_scope())
    assert info.value.status_code == 404


async def test_dot_dot_that_stays_inside_is_served(root: Path) -> None:
    sent = await get(StaticFiles(directory=root), "/css/../example.txt")
    assert sent.body == b"hello"


async def test_symlink_pointing_outside_is_refused_unless_followed(root: Path) -> None:
    (root / "link.txt").symlink_to(root.parent / "secret.txt")
    assert await status_of(StaticFiles(directory=root), "/link.txt") == 404
    sent = await get(StaticFiles(directory=root, follow_symlink=True), "/link.txt")
    assert sent.body == b"top secret"
    # Following symlinks still refuses "..".
    assert (
        await status_of(StaticFiles(directory=root, follow_symlink=True), "/../secret.txt") == 404
    )


async def test_symlink_pointing_inside_is_served(root: Path) -> None:
    (root / "alias.css").symlink_to(root / "css" / "site.css")
    sent = await get(StaticFiles(directory=root), "/alias.css")
    assert sent.body == b"body {}"


async def test_permission_denied_is_401(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(self: StaticFiles, path: str) -> Any:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(StaticFiles, "lookup_path", denied)
    assert await status_of(StaticFiles(directory=root), "/example.txt") == 401


# --- html mode ------------------------------------------------------------------


@pytest.fixture
def site(root: Path) -> Path:
    (root / "index.html").write_text("<h1>home</h1>")
    (root / "docs").mkdir()
    (root / "docs" / "index.html").write_text("<h1>docs</h1>")
    (root / "404.html").write_text("<h1>missing</h1>")
    return root


async def test_html_mode_serves_index_for_the_root_and_directories(site: Path) -> None:
    app = StaticFiles(directory=site, html=True)
    home = await get(app, "/")
    assert (home.status, home.body, home.header("content-type")) == (
        200,
        b"<h1>home</h1>",
        "text/html; charset=utf-8",
    )
    docs = await get(app, "/docs/")
    assert docs.body == b"<h1>docs</h1>"


async def test_html_mode_redirects_a_directory_to_its_slash_form(site: Path) -> None:
    sent = await get(StaticFiles(directory=site, html=True), "/docs", query_string=b"a=1")
    assert sent.status == 307
    assert sent.header("location") == "http://testserver/docs/?a=1"


async def test_html_mode_serves_404_page_with_status_404(site: Path) -> None:
    app = StaticFiles(directory=site, html=True)
    for path in ("/nope.html", "/css", "/../secret.txt"):
        sent = await get(app, path)
        assert (sent.status, sent.body) == (404, b"<h1>missing</h1>")


async def test_html_mode_without_404_page_raises_404(root: Path) -> None:
    assert await status_of(StaticFiles(directory=root, html=True), "/nope.html") == 404


# --- conditional requests ------------------------------------------------------------


async def etag_and_date(app: StaticFiles) -> tuple[str, str]:
    sent = await get(app, "/example.txt")
    etag, last_modified = sent.header("etag"), sent.header("last-modified")
    assert etag is not None and last_modified is not None
    return etag, last_modified


@pytest.mark.parametrize("template", ["{etag}", "W/{etag}", '"other", {etag}', "*"])
async def test_matching_if_none_match_is_304(root: Path, template: str) -> None:
    app = StaticFiles(directory=root)
    etag, _ = await etag_and_date(app)
    sent = await get(app, "/example.txt", headers=[("if-none-match", template.format(etag=etag))])
    assert sent.status == 304
    assert sent.headers == [(b"etag", etag.encode())]
    assert sent.body == b""


async def test_if_modified_since_not_before_last_modified_is_304(root: Path) -> None:
    app = StaticFiles(directory=root)
    _, last_modified = await etag_and_date(app)
    assert (
        await get(app, "/example.txt", headers=[("if-modified-since", last_modified)])
    ).status == 304
    later = formatdate((root / "example.txt").stat().st_mtime + 60, usegmt=True)
    assert (await get(app, "/example.txt", headers=[("if-modified-since", later)])).status == 304


async def test_older_or_garbled_if_modified_since_is_200(root: Path) -> None:
    app = StaticFiles(directory=root)
    for value in ("Thu, 01 Jan 1970 00:00:00 GMT", "not a date"):
        sent = await get(app, "/example.txt", headers=[("if-modified-since", value)])
        assert (sent.status, sent.body) == (200, b"hello")


async def test_if_none_match_that_differs_wins_over_if_modified_since(root: Path) -> None:
    app = StaticFiles(directory=root)
    _, last_modified = await etag_and_date(app)
    headers = [("if-none-match", '"other"'), ("if-modified-since", last_modified)]
    sent = await get(app, "/example.txt", headers=headers)
    assert sent.status == 200


# --- configuration ------------------------------------------------------------------


def test_missing_directory_fails_at_construction(tmp_path: Path) -> None:
    with pytest.raises(
        TrioAPIError, match=r"StaticFiles directory '.*nope' does not exist\. Create it"
    ):
        StaticFiles(directory=tmp_path / "nope")


async def test_unchecked_missing_directory_fails_on_first_request(tmp_path: Path) -> None:
    app = StaticFiles(directory=tmp_path / "nope", check_dir=False)
    with pytest.raises(RuntimeError, match=r"StaticFiles directory '.*nope' does not exist\."):
        await get(app, "/x")


async def test_directory_that_is_a_file_fails_on_first_request(root: Path) -> None:
    app = StaticFiles(directory=root / "example.txt", check_dir=False)
    with pytest.raises(RuntimeError, match="is not a directory"):
        await get(app, "/x")


async def test_websocket_handshake_is_refused_with_a_normal_close(root: Path) -> None:
    sent = await call(StaticFiles(directory=root), http_scope(type="websocket"))
    assert sent.messages == [{"type": "websocket.close", "code": 1000, "reason": ""}]


async def test_lifespan_scope_is_refused(root: Path) -> None:
    with pytest.raises(RuntimeError, match="only serves HTTP requests, not 'lifespan'"):
        await call(StaticFiles(directory=root), {"type": "lifespan"})


@pytest.mark.parametrize("if_none_match", ['"123"', '"*"', '"foo,*,bar"', "unquoted"])
async def test_entity_tags_holding_star_or_commas_are_not_the_wildcard(
    root: Path, if_none_match: str
) -> None:
    sent = await get(
        StaticFiles(directory=root), "/example.txt", headers=[("if-none-match", if_none_match)]
    )
    assert sent.status == 200


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    pkg = tmp_path / "pkgroot" / "staticpkg"
    (pkg / "statics").mkdir(parents=True)
    (pkg / "assets").mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "statics" / "pkg.txt").write_text("from statics")
    (pkg / "assets" / "asset.txt").write_text("from assets")
    monkeypatch.syspath_prepend(str(tmp_path / "pkgroot"))
    return "staticpkg"


async def test_serves_package_statics_after_the_directory(root: Path, package: str) -> None:
    app = StaticFiles(directory=root, packages=[package, (package, "assets")])
    assert (await get(app, "/pkg.txt")).body == b"from statics"
    assert (await get(app, "/asset.txt")).body == b"from assets"
    assert (await get(app, "/example.txt")).body == b"hello"


def test_unknown_package_or_folder_fails_at_construction(package: str) -> None:
    with pytest.raises(TrioAPIError, match="package 'no_such_pkg_xyz' could not be found"):
        StaticFiles(packages=["no_such_pkg_xyz"])
    with pytest.raises(
        TrioAPIError, match="directory 'missing' in package 'staticpkg' could not be found"
    ):
        StaticFiles(packages=[(package, "missing")])


# --- mounted in an app, served by hypercorn ---------------------------------------


def served_app(root: Path, site: Path) -> TrioAPI:
    app = TrioAPI()
    app.mount("/static", StaticFiles(directory=root), name="static")
    app.mount("/site", StaticFiles(directory=site, html=True), name="site")
    return app


async def raw_get(url: str, target: str) -> tuple[int, bytes]:
    """GET ``target`` exactly as written: no client-side normalization of dots or escapes."""
    host, port = url.removeprefix("http://").split(":")
    stream = await trio.open_tcp_stream(host, int(port))
    async with stream:
        request = f"GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        await stream.send_all(request.encode("latin-1"))
        answer = b""
        while chunk := await stream.receive_some():
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


TRAVERSALS = [
    "/static/../secret.txt",
    "/static/%2e%2e/secret.txt",
    "/static/%2E%2E%2Fsecret.txt",
    "/static/..%2fsecret.txt",
    "/static/..%5csecret.txt",
    "/static/css/..%2f..%2fsecret.txt",
    "/static/%2fetc%2fpasswd",
    "/static//etc/passwd",
    "/static/example.txt%00.png",
    "/static/%252e%252e/secret.txt",
]


async def test_traversal_attempts_over_a_real_socket_answer_404(tmp_path: Path) -> None:
    root = tmp_path / "static"
    root.mkdir()
    (root / "css").mkdir()
    (root / "example.txt").write_text("hello")
    (tmp_path / "secret.txt").write_text("top secret")
    async with run_hypercorn(served_app(root, root)) as url:
        answers = {target: await raw_get(url, target) for target in TRAVERSALS}
        control = await raw_get(url, "/static/css/../example.txt")

    assert {target: status for target, (status, _) in answers.items()} == dict.fromkeys(
        TRAVERSALS, 404
    )
    assert all(b"top secret" not in body for _, body in answers.values())
    assert answers["/static/..%2fsecret.txt"][1] == b'{"detail":"Not Found"}'
    assert control == (200, b"hello")


async def test_conditional_range_and_html_requests_through_hypercorn(
    root: Path, site: Path
) -> None:
    async with (
        run_hypercorn(served_app(root, site)) as url,
        httpx.AsyncClient(base_url=url) as client,
    ):
        first = await client.get("/static/example.txt")
        cached = await client.get(
            "/static/example.txt", headers={"If-None-Match": first.headers["etag"]}
        )
        since = await client.get(
            "/static/example.txt", headers={"If-Modified-Since": first.headers["last-modified"]}
        )
        part = await client.get("/static/example.txt", headers={"Range": "bytes=1-3"})
        index = await client.get("/site/docs/")
        missing = await client.get("/site/nope")

    assert (first.status_code, first.text, first.headers["accept-ranges"]) == (
        200,
        "hello",
        "bytes",
    )
    assert (cached.status_code, cached.content, cached.headers["etag"]) == (
        304,
        b"",
        first.headers["etag"],
    )
    assert since.status_code == 304
    assert (part.status_code, part.text, part.headers["content-range"]) == (
        206,
        "ell",
        "bytes 1-3/5",
    )
    assert (index.status_code, index.text) == (200, "<h1>docs</h1>")
    assert (missing.status_code, missing.text) == (404, "<h1>missing</h1>")
