"""Property tests: arbitrary paths, query strings, headers, cookies, forms and Range headers.

Whatever a client sends, a typed app answers with a value or a 4xx, never a
5xx, and what it answers is consistent (Range: ``Content-Range`` matches the
body). Every request goes through the ``TestClient``, which raises any error
that escaped the app, so a crash fails the property twice over.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated
from urllib.parse import quote, unquote_to_bytes

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from trioapi import Cookie, File, Form, Header, Query, Request, TrioAPI, UploadFile
from trioapi.responses import FileResponse
from trioapi.testclient import TestClient

FILE_CONTENT = bytes(range(256)) * 4  # 1024 bytes, each offset recognisable

# derandomize: the same examples on every run, so the suite stays deterministic.
examples = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


def build_app(file: Path) -> TrioAPI:
    app = TrioAPI()

    @app.get("/")
    async def root() -> dict[str, str]:
        return {"at": "root"}

    @app.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        return {"item_id": item_id}

    @app.get("/users/{name}/posts/{post_id}")
    async def post(name: str, post_id: float) -> dict[str, object]:
        return {"name": name, "post_id": post_id}

    @app.get("/files/{file_path:path}")
    async def file_path(file_path: str) -> dict[str, str]:
        return {"path": file_path}

    @app.get("/search")
    async def search(
        q: str | None = None,
        n: int = 0,
        tags: Annotated[list[str], Query()] = [],  # noqa: B006 - FastAPI's idiom
        ratio: float | None = None,
    ) -> dict[str, object]:
        return {"q": q, "n": n, "tags": tags, "ratio": ratio}

    @app.get("/headers")
    async def headers(
        x_token: Annotated[str | None, Header()] = None,
        x_count: Annotated[int | None, Header()] = None,
    ) -> dict[str, object]:
        return {"token": x_token, "count": x_count}

    @app.get("/cookies")
    async def cookies(
        request: Request,
        session: Annotated[str | None, Cookie()] = None,
        visits: Annotated[int | None, Cookie()] = None,
    ) -> dict[str, object]:
        jar = request.cookies
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in jar.items())
        return {"session": session, "visits": visits, "names": sorted(jar)}

    @app.post("/upload")
    async def upload(
        name: Annotated[str, Form()],
        raw: Annotated[bytes, File()],
        document: UploadFile,
    ) -> dict[str, object]:
        return {"name": name, "raw": len(raw), "document": len(await document.read())}

    @app.post("/login")
    async def login(user: Annotated[str, Form()], age: Annotated[int, Form()]) -> dict[str, object]:
        return {"user": user, "age": age}

    @app.get("/file")
    async def send_file() -> FileResponse:
        return FileResponse(file)

    return app


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    file = tmp_path_factory.mktemp("properties") / "data.bin"
    file.write_bytes(FILE_CONTENT)
    with TestClient(build_app(file), follow_redirects=False) as test_client:
        yield test_client


# Text a client could put in a URL: anything, percent-encoded byte by byte,
# so invalid UTF-8 and encoded separators (%2F, %00) reach the router too.
url_bytes = st.binary(max_size=40).map(lambda raw: quote(raw, safe="/"))
url_text = st.text(
    st.characters(codec="ascii", exclude_characters="?#% \x7f", min_codepoint=0x21), max_size=40
)
path_piece = st.one_of(url_bytes, url_text)


@examples
@given(
    prefix=st.sampled_from(["/", "/items/", "/users/", "/users/x/posts/", "/files/", "//"]),
    rest=path_piece,
)
def test_arbitrary_paths_never_give_a_server_error(client: TestClient, prefix: str, rest: str):
    path = prefix + rest
    # A full URL, so a path starting with "//" stays a path, not an authority.
    response = client.get("http://testserver" + path)
    event(f"status {response.status_code}")
    assert response.status_code in (200, 307, 400, 404, 422), (path, response.text)
    if response.status_code == 400:  # only for escapes that are not UTF-8
        assert response.json() == {"detail": "Invalid percent-encoding in the path: not UTF-8"}
        with pytest.raises(UnicodeDecodeError):
            unquote_to_bytes(path).decode("utf-8")


@examples
@given(item_id=st.integers())
def test_an_integer_path_parameter_round_trips(client: TestClient, item_id: int):
    response = client.get(f"/items/{item_id}")
    assert (response.status_code, response.json()) == (200, {"item_id": item_id})


query_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)


@examples
@given(raw=st.one_of(url_bytes, url_text, st.text(max_size=40).map(lambda t: quote(t, safe="=&"))))
def test_arbitrary_query_strings_give_200_or_422(client: TestClient, raw: str):
    response = client.get("/search?" + raw)
    assert response.status_code in (200, 422), (raw, response.text)


@examples
@given(q=query_text, n=st.integers(), tags=st.lists(query_text, max_size=4))
def test_query_values_round_trip(client: TestClient, q: str, n: int, tags: list[str]):
    response = client.get("/search", params={"q": q, "n": n, "tags": tags})
    assert response.status_code == 200
    assert response.json() == {"q": q, "n": n, "tags": tags, "ratio": None}


# Header values as they can arrive on the wire: any byte but CR, LF and NUL,
# read as latin-1 (obs-text), with no surrounding whitespace (servers strip it).
header_value = st.binary(max_size=40).map(
    lambda raw: raw.replace(b"\r", b"").replace(b"\n", b"").replace(b"\0", b"").strip(b" \t")
)


@examples
@given(
    token=header_value, count=st.one_of(header_value, st.integers().map(lambda i: str(i).encode()))
)
def test_arbitrary_header_values_give_200_or_422(client: TestClient, token: bytes, count: bytes):
    response = client.get("/headers", headers=[(b"x-token", token), (b"x-count", count)])
    if re.fullmatch(rb"[+-]?\d+", count.strip()):
        assert response.status_code == 200
        assert response.json() == {"token": token.decode("latin-1"), "count": int(count)}
    else:
        assert response.status_code in (200, 422), response.text


cookie_header = st.one_of(
    header_value,
    st.lists(
        st.tuples(
            st.sampled_from(["session", "visits", "", " ", "a b", '"q"', "$x", "Session"]),
            st.one_of(header_value.map(lambda raw: raw.decode("latin-1")), st.integers().map(str)),
        ),
        max_size=5,
    ).map(lambda pairs: "; ".join(f"{k}={v}" for k, v in pairs).encode("latin-1")),
)


@examples
@given(cookie=cookie_header)
def test_arbitrary_cookie_headers_give_200_or_422(client: TestClient, cookie: bytes):
    response = client.get("/cookies", headers=[(b"cookie", cookie)])
    event(f"status {response.status_code}")
    assert response.status_code in (200, 422), (cookie, response.text)
    if response.status_code == 200:
        assert isinstance(response.json()["names"], list)


BOUNDARY = "prop-boundary"
multipart_body = st.one_of(
    st.binary(max_size=300),
    st.lists(
        st.sampled_from(
            [
                f"--{BOUNDARY}",
                f"--{BOUNDARY}--",
                "\r\n",
                "Content-Disposition: form-data",
                '; name="name"',
                '; name="raw"',
                '; name="document"',
                '; filename="f.txt"',
                "Content-Type: text/plain; charset=utf-16",
                ":",
                "value",
                "\x00\xff",
            ]
        ),
        max_size=40,
    ).map(lambda pieces: "".join(pieces).encode("latin-1")),
)


@examples
@given(body=multipart_body)
def test_arbitrary_multipart_to_a_typed_form_endpoint_gives_200_400_or_422(
    client: TestClient, body: bytes
):
    headers = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}
    response = client.post("/upload", content=body, headers=headers)
    event(f"status {response.status_code}")
    assert response.status_code in (200, 400, 422), (body, response.text)


def test_a_well_formed_multipart_upload_is_read(client: TestClient):
    response = client.post(
        "/upload",
        data={"name": "n"},
        files={"raw": ("r.bin", b"\x00\xff" * 10), "document": ("d.txt", b"hello")},
    )
    assert (response.status_code, response.json()) == (200, {"name": "n", "raw": 20, "document": 5})


@examples
@given(body=st.one_of(st.binary(max_size=200), url_text))
def test_arbitrary_urlencoded_form_gives_200_or_422(client: TestClient, body: bytes | str):
    headers = {"content-type": "application/x-www-form-urlencoded"}
    response = client.post("/login", content=body, headers=headers)
    assert response.status_code in (200, 422), (body, response.text)


SIZE = len(FILE_CONTENT)
position = st.one_of(st.integers(0, SIZE + 10), st.integers(0, 10**30))
range_spec = st.one_of(
    st.tuples(position, position).map(lambda p: f"{p[0]}-{p[1]}"),
    position.map(lambda p: f"{p}-"),
    position.map(lambda p: f"-{p}"),
    st.text(st.sampled_from("0123456789-, =abx"), max_size=8),
)
small = st.integers(0, SIZE + 10)
well_formed_spec = st.one_of(
    st.tuples(small, small).map(lambda p: f"{min(p)}-{max(p)}"),
    small.map(lambda p: f"{p}-"),
    small.map(lambda p: f"-{p}"),
)
range_header = st.one_of(
    st.lists(well_formed_spec, min_size=1, max_size=6).map(
        lambda specs: "bytes=" + ",".join(specs)
    ),
    st.lists(range_spec, min_size=0, max_size=6).map(lambda specs: "bytes=" + ",".join(specs)),
    st.text(st.characters(codec="latin-1", exclude_characters="\r\n\0"), max_size=30).map(
        str.strip
    ),
)


def _check_part(content_range: str, data: bytes) -> None:
    match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", content_range)
    assert match is not None, content_range
    start, end, size = (int(group) for group in match.groups())
    assert size == SIZE
    assert 0 <= start <= end < SIZE
    assert data == FILE_CONTENT[start : end + 1]


def _check_multipart(content_type: str, body: bytes) -> None:
    match = re.fullmatch(r"multipart/byteranges; boundary=(\w+)", content_type)
    assert match is not None, content_type
    boundary = match.group(1).encode()
    parts = body.split(b"--" + boundary)
    assert parts[0] == b""
    assert parts[-1] == b"--"
    previous_end = -2
    for part in parts[1:-1]:
        head, _, data = part.partition(b"\r\n\r\n")
        assert data.endswith(b"\r\n")
        found = re.search(rb"Content-Range: (bytes \d+-\d+/\d+)", head)
        assert found is not None, head
        content_range = found.group(1).decode()
        _check_part(content_range, data[:-2])
        # Ranges are merged and sorted, so output never exceeds the file.
        start = int(content_range.split()[1].split("-")[0])
        assert start > previous_end + 1
        previous_end = int(content_range.split("-")[1].split("/")[0])


@examples
@given(value=range_header)
def test_arbitrary_range_headers_give_a_consistent_answer(client: TestClient, value: str):
    response = client.get("/file", headers=[(b"range", value.encode("latin-1"))])
    status, body = response.status_code, response.content
    event(f"status {status}, {'multipart' if b'--' in body[:2] else 'single'}")
    assert status in (200, 206, 400, 416), (value, status)
    assert response.headers.get("content-length") == str(len(body))
    if status == 200:
        assert body == FILE_CONTENT
    elif status == 400:
        assert body in (
            b"Malformed range header.",
            b"Only support bytes range",
            b"Range header: range must be requested",
            b"Range header: start must be less than end",
        )
    elif status == 416:
        assert (response.headers["content-range"], body) == (f"bytes */{SIZE}", b"")
    elif "content-range" in response.headers:
        _check_part(response.headers["content-range"], body)
    else:
        _check_multipart(response.headers["content-type"], body)
