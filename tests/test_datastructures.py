"""Data structures behave as Starlette's do, and edit shared ASGI messages in place."""

from __future__ import annotations

import io
import pickle
import tempfile
from urllib.parse import parse_qsl

import pydantic
import pytest
import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st

from trioapi.datastructures import (
    URL,
    Address,
    CommaSeparatedStrings,
    Default,
    DefaultPlaceholder,
    FormData,
    Headers,
    ImmutableMultiDict,
    MultiDict,
    MutableHeaders,
    QueryParams,
    Secret,
    State,
    UploadFile,
    URLPath,
)


def http_scope(**overrides):
    scope = {
        "type": "http",
        "scheme": "http",
        "server": ("example.org", 80),
        "root_path": "",
        "path": "/items",
        "query_string": b"",
        "headers": [],
    }
    scope.update(overrides)
    return scope


# --- URL -------------------------------------------------------------------


def test_url_exposes_every_component():
    url = URL("https://user:secret@Example.org:8443/a/b?x=1&y=2#frag")
    assert url.scheme == "https"
    assert url.netloc == "user:secret@Example.org:8443"
    assert url.path == "/a/b"
    assert url.query == "x=1&y=2"
    assert url.fragment == "frag"
    assert url.username == "user"
    assert url.password == "secret"
    assert url.hostname == "example.org"
    assert url.port == 8443
    assert url.is_secure
    assert url.components.path == "/a/b"
    assert not URL("http://example.org").is_secure
    assert URL("wss://example.org").is_secure


def test_url_from_scope_prefers_the_host_header():
    scope = http_scope(
        headers=[(b"host", b"api.example.com:8000")],
        query_string=b"a=1",
        root_path="/v1",
        path="/v1/items",  # ASGI: path includes root_path
    )
    assert URL(scope=scope) == "http://api.example.com:8000/v1/items?a=1"


def test_url_from_scope_shows_a_non_default_server_port_only():
    assert str(URL(scope=http_scope(server=("10.0.0.1", 8080)))) == "http://10.0.0.1:8080/items"
    assert str(URL(scope=http_scope(server=("10.0.0.1", 80)))) == "http://10.0.0.1/items"
    secure = http_scope(scheme="https", server=("h", 443))
    assert str(URL(scope=secure)) == "https://h/items"
    assert str(URL(scope=http_scope(server=None))) == "/items"


def test_url_refuses_both_a_string_and_a_scope():
    with pytest.raises(ValueError, match="either"):
        URL("http://a", scope=http_scope())
    with pytest.raises(ValueError, match="either"):
        URL("http://a", path="/b")


def test_url_from_components():
    assert URL(scheme="https", netloc="example.org", path="/x", query="a=1") == (
        "https://example.org/x?a=1"
    )


def test_url_replace_rebuilds_the_netloc():
    url = URL("http://user:pw@example.org:8000/path?q=1")
    assert url.replace(scheme="https") == "https://user:pw@example.org:8000/path?q=1"
    assert url.replace(port=9000) == "http://user:pw@example.org:9000/path?q=1"
    assert url.replace(hostname="other.net") == "http://user:pw@other.net:8000/path?q=1"
    assert url.replace(username="bob", password=None) == "http://bob@example.org:8000/path?q=1"
    assert url.replace(port=None) == "http://user:pw@example.org/path?q=1"
    assert URL("http://[::1]:80/").replace(port=81) == "http://[::1]:81/"


def test_url_query_param_helpers():
    url = URL("http://h/p?a=1&b=2&a=3")
    assert url.include_query_params(a="x", c=3) == "http://h/p?b=2&a=x&c=3"
    assert url.replace_query_params(z=1) == "http://h/p?z=1"
    assert url.remove_query_params("a") == "http://h/p?b=2"
    assert url.remove_query_params(["a", "b"]) == "http://h/p"


def test_url_equality_repr_and_hash():
    url = URL("http://user:secret@h/p")
    assert url == "http://user:secret@h/p"
    assert url == URL("http://user:secret@h/p")
    assert url != 42
    assert repr(url) == "URL('http://user:********@h/p')"
    assert repr(URL("http://h/")) == "URL('http://h/')"
    assert hash(url) == hash(URL(str(url)))


def test_urlpath_makes_absolute_urls_with_the_right_scheme():
    assert URLPath("/ws", protocol="websocket").make_absolute_url("https://h/base/") == (
        "wss://h/base/ws"
    )
    assert URLPath("/ws", protocol="websocket").make_absolute_url(URL("http://h")) == "ws://h/ws"
    assert URLPath("/x", protocol="http").make_absolute_url("https://h") == "https://h/x"
    assert URLPath("/x", host="other").make_absolute_url("http://h") == "http://other/x"
    path = URLPath("/p", "http", "host")
    assert (path, path.protocol, path.host) == ("/p", "http", "host")
    with pytest.raises(ValueError, match="protocol"):
        URLPath("/p", protocol="ftp")


# --- small values ------------------------------------------------------------


def test_address_is_a_named_pair():
    address = Address("127.0.0.1", 5000)
    assert address.host == "127.0.0.1"
    assert address.port == 5000
    assert address == ("127.0.0.1", 5000)


def test_secret_hides_its_value_from_repr():
    secret = Secret("hunter2")
    assert repr(secret) == "Secret('**********')"
    assert str(secret) == "hunter2"
    assert secret
    assert not Secret("")


def test_comma_separated_strings():
    parsed = CommaSeparatedStrings("a, b ,'c, d'")
    assert list(parsed) == ["a", "b", "c, d"]
    assert len(parsed) == 3
    assert parsed[0] == "a"
    assert parsed[1:] == ["b", "c, d"]
    assert repr(parsed) == "CommaSeparatedStrings(['a', 'b', 'c, d'])"
    assert str(parsed) == "'a', 'b', 'c, d'"
    assert list(CommaSeparatedStrings(["x", "y"])) == ["x", "y"]


def test_state_is_an_attribute_bag_over_a_dict():
    backing = {"a": 1}
    state = State(backing)
    state.b = 2
    assert (state.a, state.b) == (1, 2)
    assert backing == {"a": 1, "b": 2}
    assert state._state is backing
    del state.a
    assert backing == {"b": 2}
    with pytest.raises(AttributeError, match="'State' object has no attribute 'missing'"):
        state.missing  # noqa: B018
    with pytest.raises(AttributeError, match="no attribute 'a'"):
        del state.a
    assert State()._state == {}
    assert pickle.loads(pickle.dumps(state)).b == 2


def test_default_placeholder_compares_by_value():
    placeholder = Default(1)
    assert isinstance(placeholder, DefaultPlaceholder)
    assert placeholder.value == 1
    assert placeholder == DefaultPlaceholder(1)
    assert placeholder != DefaultPlaceholder(2)
    assert placeholder != 1
    assert bool(placeholder)
    assert not Default(None)
    assert repr(placeholder) == "DefaultPlaceholder(1)"


# --- multidicts --------------------------------------------------------------


def test_immutable_multidict_keeps_every_value_and_returns_the_last():
    d = ImmutableMultiDict([("a", "1"), ("b", "2"), ("a", "3")])
    assert d["a"] == "3"
    assert d.get("a") == "3"
    assert d.getlist("a") == ["1", "3"]
    assert d.getlist("zzz") == []
    assert d.multi_items() == [("a", "1"), ("b", "2"), ("a", "3")]
    assert list(d.keys()) == ["a", "b"]
    assert list(d.values()) == ["3", "2"]
    assert list(d.items()) == [("a", "3"), ("b", "2")]
    assert len(d) == 2
    assert "a" in d
    assert "c" not in d
    assert repr(d) == "ImmutableMultiDict([('a', '1'), ('b', '2'), ('a', '3')])"


def test_immutable_multidict_sources_and_equality():
    d = ImmutableMultiDict([("a", "1"), ("a", "2")])
    assert ImmutableMultiDict(d) == d
    assert ImmutableMultiDict({"a": "1"}, b="2").multi_items() == [("a", "1"), ("b", "2")]
    # Keys in any order; one key's values in the same order (Starlette's equality).
    assert ImmutableMultiDict([("b", "x"), ("a", "1"), ("a", "2")]) == ImmutableMultiDict(
        [("a", "1"), ("b", "x"), ("a", "2")]
    )
    assert ImmutableMultiDict([("a", "2"), ("a", "1")]) != d
    assert ImmutableMultiDict([("a", "1")]) != d
    assert d != {"a": "2"}
    assert ImmutableMultiDict() == ImmutableMultiDict([])
    with pytest.raises(TypeError, match="at most 1"):
        ImmutableMultiDict({}, {})  # type: ignore[call-arg]


def test_multidict_mutations():
    d = MultiDict([("a", "1"), ("b", "2"), ("a", "3")])
    d["a"] = "x"
    assert d.multi_items() == [("b", "2"), ("a", "x")]
    d.append("a", "y")
    assert d.getlist("a") == ["x", "y"]
    assert d["a"] == "y"
    assert d.poplist("a") == ["x", "y"]
    assert "a" not in d
    assert d.setdefault("c", "3") == "3"
    assert d.setdefault("c", "other") == "3"
    d.setlist("l", ["1", "2"])
    assert d.getlist("l") == ["1", "2"]
    d.setlist("l", [])
    assert "l" not in d
    assert d.pop("b") == "2"
    assert d.pop("b", "gone") == "gone"
    del d["c"]
    assert d.multi_items() == []
    d.update([("k", "1"), ("k", "2")], j="3")
    d.update({"k": "9"})
    assert d.multi_items() == [("j", "3"), ("k", "9")]
    popped = d.popitem()
    assert popped in [("j", "3"), ("k", "9")]
    assert d.multi_items() == [item for item in [("j", "3"), ("k", "9")] if item != popped]
    d.clear()
    assert len(d) == 0
    assert d.multi_items() == []


# --- query params -----------------------------------------------------------


def test_query_params_parse_strings_and_bytes():
    q = QueryParams("a=1&b=&a=2&c=%20x+y")
    assert q["a"] == "2"
    assert q.getlist("a") == ["1", "2"]
    assert q["b"] == ""
    assert q["c"] == " x y"
    assert QueryParams(b"a=%C3%A9") == QueryParams("a=%C3%A9")
    assert QueryParams(b"a=%C3%A9")["a"] == "é"


def test_query_params_from_other_sources_become_strings():
    assert QueryParams({"a": 1}).multi_items() == [("a", "1")]
    assert QueryParams([("a", 1), ("a", 2)]).getlist("a") == ["1", "2"]
    assert QueryParams(MultiDict([("x", "y")]), z=3).multi_items() == [("x", "y"), ("z", "3")]
    assert QueryParams() == QueryParams("")


def test_query_params_str_and_repr():
    q = QueryParams([("a", "1 2"), ("b", "&"), ("a", "é")])
    assert str(q) == "a=1+2&b=%26&a=%C3%A9"
    assert repr(q) == "QueryParams('a=1+2&b=%26&a=%C3%A9')"


@given(st.text(alphabet="ab=&%+2é"))
def test_query_strings_parse_as_parse_qsl_parses_them(query):
    assert QueryParams(query).multi_items() == parse_qsl(query, keep_blank_values=True)


@given(st.lists(st.tuples(st.text(), st.text())))
def test_query_params_round_trip_through_str(pairs):
    params = QueryParams(pairs)
    assert QueryParams(str(params)).multi_items() == params.multi_items()


# --- headers -----------------------------------------------------------------


def test_headers_are_case_insensitive_and_multi_valued():
    h = Headers(
        raw=[(b"set-cookie", b"a=1"), (b"content-type", b"text/plain"), (b"set-cookie", b"b=2")]
    )
    assert h["Set-Cookie"] == "a=1"
    assert h.getlist("SET-COOKIE") == ["a=1", "b=2"]
    assert "Content-Type" in h
    assert "x" not in h
    assert 3 not in h
    assert h.get("missing") is None
    assert h.keys() == ["set-cookie", "content-type", "set-cookie"]
    assert h.values() == ["a=1", "text/plain", "b=2"]
    assert h.items()[1] == ("content-type", "text/plain")
    assert list(h) == h.keys()
    assert len(h) == 3
    assert h.raw[0] == (b"set-cookie", b"a=1")
    assert repr(h).startswith("Headers(raw=")
    with pytest.raises(KeyError):
        h["missing"]
    assert h.get("ünïcödé✓") is None


def test_headers_from_a_mapping_lowercase_names():
    h = Headers({"Content-Type": "text/html", "X-A": "1"})
    assert h.raw == [(b"content-type", b"text/html"), (b"x-a", b"1")]
    assert repr(h) == "Headers({'content-type': 'text/html', 'x-a': '1'})"
    assert h == Headers(raw=[(b"x-a", b"1"), (b"content-type", b"text/html")])
    assert h != {"content-type": "text/html", "x-a": "1"}
    assert Headers() == Headers(raw=[])


def test_headers_take_only_one_source():
    with pytest.raises(ValueError, match="only one"):
        Headers({"a": "b"}, raw=[])


def test_headers_refuse_cr_lf_and_nul():
    with pytest.raises(ValueError, match="CR, LF or NUL"):
        Headers({"x": "a\r\nSet-Cookie: evil=1"})
    h = MutableHeaders()
    for bad in ("a\rb", "a\nb", "a\x00b"):
        with pytest.raises(ValueError, match="CR, LF or NUL"):
            h["x"] = bad
        with pytest.raises(ValueError, match="CR, LF or NUL"):
            h.append(bad, "value")
    assert h.raw == []


def test_mutable_headers_edit_a_message_in_place():
    message = {
        "type": "http.response.start",
        "status": 200,
        "headers": [(b"content-type", b"text/plain"), (b"x-a", b"1"), (b"x-a", b"2")],
    }
    headers = MutableHeaders(scope=message)
    headers["X-A"] = "3"
    headers["X-New"] = "n"
    headers.append("set-cookie", "s=1")
    assert message["headers"] == [
        (b"content-type", b"text/plain"),
        (b"x-a", b"3"),
        (b"x-new", b"n"),
        (b"set-cookie", b"s=1"),
    ]
    del headers["content-type"]
    del headers["never-there"]
    assert message["headers"][0] == (b"x-a", b"3")
    assert headers.raw is message["headers"]


def test_mutable_headers_from_a_tuple_in_the_scope_store_a_list_back():
    message = {"headers": ((b"a", b"1"),)}
    MutableHeaders(scope=message)["b"] = "2"
    assert message["headers"] == [(b"a", b"1"), (b"b", b"2")]


def test_mutable_headers_helpers():
    h = MutableHeaders({"a": "1"})
    assert h.setdefault("a", "x") == "1"
    assert h.setdefault("b", "2") == "2"
    h.update({"A": "9"})
    assert h.raw == [(b"a", b"9"), (b"b", b"2")]
    merged = h | {"c": "3"}
    assert isinstance(merged, MutableHeaders)
    assert merged["c"] == "3"
    assert "c" not in h
    h |= {"d": "4"}
    assert h["d"] == "4"
    h.add_vary_header("Origin")
    h.add_vary_header("Accept-Encoding")
    assert h["vary"] == "Origin, Accept-Encoding"


def test_mutablecopy_does_not_share_the_list():
    original = Headers({"a": "1"})
    copy = original.mutablecopy()
    copy["a"] = "2"
    assert original["a"] == "1"
    assert copy["a"] == "2"


latin1_text = st.text(st.characters(min_codepoint=0, max_codepoint=255))
latin1_bytes = latin1_text.map(lambda text: text.encode("latin-1"))


@given(st.lists(st.tuples(latin1_bytes, latin1_bytes)), latin1_text)
def test_headers_from_arbitrary_latin1_pairs_never_crash(raw, key):
    headers = Headers(raw=raw)
    assert len(headers) == len(raw)
    assert headers.getlist(key) == [
        v.decode("latin-1") for k, v in raw if k == key.lower().encode("latin-1")
    ]
    assert (key in headers) == bool(headers.getlist(key))
    assert headers.get(key) == (headers.getlist(key) or [None])[0]
    repr(headers)
    assert headers.mutablecopy() == headers


# --- uploads and forms -------------------------------------------------------


async def test_upload_file_in_memory_read_write_seek_close():
    spooled = tempfile.SpooledTemporaryFile(max_size=1024)
    upload = UploadFile(
        spooled, size=0, filename="a.txt", headers=Headers({"content-type": "text/plain"})
    )
    assert upload.content_type == "text/plain"
    await upload.write(b"hello ")
    await upload.write(b"world")
    assert upload.size == 11
    await upload.seek(0)
    assert await upload.read(5) == b"hello"
    assert await upload.read() == b" world"
    assert not spooled._rolled
    await upload.close()
    assert spooled.closed
    assert repr(upload).startswith("UploadFile(filename='a.txt', size=11, headers=Headers(")


async def test_upload_file_rolled_to_disk_uses_a_thread():
    spooled = tempfile.SpooledTemporaryFile(max_size=10)
    upload = UploadFile(spooled, size=0)
    await upload.write(b"0123456789abcdef")  # past max_size: rolls over to a real file
    assert spooled._rolled
    assert upload.size == 16
    await upload.seek(10)
    assert await upload.read() == b"abcdef"
    await upload.close()
    assert spooled.closed


async def test_upload_file_over_a_plain_file_without_size_or_headers():
    upload = UploadFile(io.BytesIO(b"data"))
    assert upload.content_type is None
    assert upload.size is None
    await upload.write(b"!")
    assert upload.size is None
    await upload.seek(0)
    assert await upload.read() == b"!ata"


async def test_upload_file_methods_are_checkpoints():
    upload = UploadFile(tempfile.SpooledTemporaryFile(max_size=100))
    with trio.CancelScope() as scope:
        scope.cancel()
        with pytest.raises(trio.Cancelled):
            await upload.write(b"never")
    await upload.seek(0)
    assert await upload.read() == b""
    with trio.testing.assert_checkpoints():
        await upload.read()
    with trio.testing.assert_checkpoints():
        await upload.close()


def test_form_data_equality_keeps_the_order_of_uploads_under_one_key():
    file_a = UploadFile(io.BytesIO(b"a"), filename="a.txt")
    file_b = UploadFile(io.BytesIO(b"b"), filename="b.txt")
    form = FormData([("files", file_a), ("files", file_b), ("name", "x")])
    assert form == FormData(form)
    assert form == FormData([("name", "x"), ("files", file_a), ("files", file_b)])
    assert form != FormData([("files", file_b), ("files", file_a), ("name", "x")])


async def test_form_data_close_closes_every_upload():
    first = UploadFile(tempfile.SpooledTemporaryFile(max_size=100), filename="1")
    second = UploadFile(io.BytesIO(b"x"), filename="2")
    form = FormData([("name", "value"), ("file", first), ("file", second)])
    assert form["name"] == "value"
    assert form.getlist("file") == [first, second]
    await form.close()
    assert first.file.closed
    assert second.file.closed
    with trio.testing.assert_checkpoints():
        await FormData().close()


def test_upload_file_is_a_pydantic_type():
    adapter = pydantic.TypeAdapter(UploadFile)
    upload = UploadFile(io.BytesIO(b""), filename="f")
    assert adapter.validate_python(upload) is upload
    with pytest.raises(pydantic.ValidationError):
        adapter.validate_python("not a file")
    assert adapter.json_schema() == {
        "type": "string",
        "contentMediaType": "application/octet-stream",
    }

    class Model(pydantic.BaseModel):
        files: list[UploadFile]

    schema = Model.model_json_schema()
    assert schema["properties"]["files"]["items"] == {
        "type": "string",
        "contentMediaType": "application/octet-stream",
    }
    assert Model(files=[upload]).files == [upload]


def test_state_supports_item_access_iteration_and_length():
    from trioapi.datastructures import State

    state = State()
    state["db"] = "conn"
    state.cache = {}

    assert state["db"] == state.db == "conn"
    assert sorted(state) == ["cache", "db"]
    assert len(state) == 2
    del state["db"]
    assert "db" not in list(state)
    assert not State()
