from __future__ import annotations

import importlib.util
import json
import sys
from base64 import b64encode

import itsdangerous
import pytest

from tests.middleware_support import call, make_scope
from trioapi.middleware.sessions import SessionMiddleware
from trioapi.responses import JSONResponse
from trioapi.types import Receive, Scope, Send

SECRET = "not-so-secret"
TWO_WEEKS = 14 * 24 * 60 * 60


async def session_app(scope: Scope, receive: Receive, send: Send) -> None:
    """GET shows the session, /set?k=v stores k, /clear empties it."""
    session = scope["session"]
    if scope["path"] == "/set":
        key, value = scope["query_string"].decode().split("=")
        session[key] = value
    elif scope["path"] == "/clear":
        session.clear()
    await JSONResponse({"session": session})(scope, receive, send)


def cookie_value(set_cookie: str) -> str:
    """``session=abc; path=/; ...`` -> ``abc``."""
    return set_cookie.split(";", 1)[0].split("=", 1)[1]


async def request(app, path="/", query=b"", cookie: str | None = None, name="session"):
    headers = [("cookie", f"{name}={cookie}")] if cookie is not None else []
    return await call(app, path=path, query_string=query, headers=headers)


async def test_new_visitor_has_an_empty_session_and_gets_no_cookie():
    sent = await request(SessionMiddleware(session_app, SECRET))

    assert json.loads(sent.body) == {"session": {}}
    assert "set-cookie" not in sent.headers


async def test_stored_value_comes_back_on_the_next_request():
    app = SessionMiddleware(session_app, SECRET)

    first = await request(app, "/set", b"user=alice")
    set_cookie = first.headers["set-cookie"]
    second = await request(app, cookie=cookie_value(set_cookie))

    assert set_cookie.startswith("session=")
    assert set_cookie.endswith(f"; path=/; Max-Age={TWO_WEEKS}; httponly; samesite=lax")
    assert json.loads(second.body) == {"session": {"user": "alice"}}
    # Only a changed session is written back (Starlette 1.x): reading it sends no cookie.
    assert "set-cookie" not in second.headers


async def test_cookie_holds_signed_base64_json():
    app = SessionMiddleware(session_app, SECRET)

    sent = await request(app, "/set", b"user=alice")
    signed = cookie_value(sent.headers["set-cookie"])

    payload = itsdangerous.TimestampSigner(SECRET).unsign(signed)
    assert payload == b64encode(b'{"user": "alice"}')


async def test_emptied_session_clears_the_cookie():
    app = SessionMiddleware(session_app, SECRET)
    stored = await request(app, "/set", b"user=alice")

    cleared = await request(app, "/clear", cookie=cookie_value(stored.headers["set-cookie"]))

    assert json.loads(cleared.body) == {"session": {}}
    assert cleared.headers["set-cookie"] == (
        "session=null; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT; httponly; samesite=lax"
    )


async def test_forged_cookie_gives_an_empty_session():
    app = SessionMiddleware(session_app, SECRET)
    forged = itsdangerous.TimestampSigner("other-key").sign(b64encode(b'{"admin": true}')).decode()

    sent = await request(app, cookie=forged)

    assert json.loads(sent.body) == {"session": {}}
    assert "set-cookie" not in sent.headers


@pytest.mark.parametrize("garbage", ["not-signed", "", "a.b.c"])
async def test_unreadable_cookie_gives_an_empty_session(garbage):
    sent = await request(SessionMiddleware(session_app, SECRET), cookie=garbage)

    assert json.loads(sent.body) == {"session": {}}


async def test_signed_cookie_that_is_not_json_gives_an_empty_session():
    bad = itsdangerous.TimestampSigner(SECRET).sign(b64encode(b"{not json")).decode()

    sent = await request(SessionMiddleware(session_app, SECRET), cookie=bad)

    assert json.loads(sent.body) == {"session": {}}


async def test_cookie_older_than_max_age_is_ignored():
    class LongAgo(itsdangerous.TimestampSigner):
        def get_timestamp(self) -> int:
            return super().get_timestamp() - 100

    old = LongAgo(SECRET).sign(b64encode(b'{"user": "alice"}')).decode()

    expired = await request(SessionMiddleware(session_app, SECRET, max_age=50), cookie=old)
    fresh = await request(SessionMiddleware(session_app, SECRET, max_age=500), cookie=old)

    assert json.loads(expired.body) == {"session": {}}
    assert json.loads(fresh.body) == {"session": {"user": "alice"}}


async def test_cookie_options_are_written_into_set_cookie():
    app = SessionMiddleware(
        session_app,
        SECRET,
        session_cookie="sid",
        max_age=None,
        path="/app",
        same_site="strict",
        https_only=True,
        domain="example.com",
    )

    sent = await request(app, "/set", b"a=1")
    set_cookie = sent.headers["set-cookie"]
    again = await request(app, cookie=cookie_value(set_cookie), name="sid")

    assert set_cookie.startswith("sid=")
    assert set_cookie.endswith("; path=/app; httponly; samesite=strict; secure; domain=example.com")
    assert json.loads(again.body) == {"session": {"a": "1"}}


async def test_set_cookie_is_added_next_to_the_apps_own_cookies():
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        scope["session"]["n"] = 1
        response = JSONResponse({})
        response.set_cookie("theme", "dark")
        await response(scope, receive, send)

    sent = await call(SessionMiddleware(app, SECRET))

    cookies = [value for name, value in sent.raw_headers if name == "set-cookie"]
    assert len(cookies) == 2
    assert cookies[0].startswith("theme=dark")
    assert cookies[1].startswith("session=")


async def test_websocket_gets_the_session_too():
    app = SessionMiddleware(session_app, SECRET)
    stored = await request(app, "/set", b"user=bob")
    seen = []

    async def ws_app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(dict(scope["session"]))

    cookie = cookie_value(stored.headers["set-cookie"])
    scope = make_scope(scope_type="websocket", headers=[("cookie", f"session={cookie}")])
    await SessionMiddleware(ws_app, SECRET)(scope, None, None)

    assert seen == [{"user": "bob"}]


async def test_lifespan_gets_no_session():
    seen = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append("session" in scope)

    await SessionMiddleware(app, SECRET)({"type": "lifespan"}, None, None)

    assert seen == [False]


def test_missing_itsdangerous_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "itsdangerous", None)  # as if it were not installed
    spec = importlib.util.find_spec("trioapi.middleware.sessions")
    assert spec is not None and spec.origin is not None
    fresh = importlib.util.spec_from_file_location("_sessions_without_extra", spec.origin)
    assert fresh is not None and fresh.loader is not None
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'trioapi\[sessions\]'"):
        fresh.loader.exec_module(importlib.util.module_from_spec(fresh))


async def read_only_app(scope: Scope, receive: Receive, send: Send) -> None:
    """Reads the session through request.session, as an endpoint would."""
    from trioapi.requests import Request

    await JSONResponse({"session": dict(Request(scope).session)})(scope, receive, send)


async def test_reading_the_session_adds_vary_cookie_but_writes_nothing():
    app = SessionMiddleware(session_app, SECRET)
    stored = await request(app, "/set", b"user=alice")

    read = await request(
        SessionMiddleware(read_only_app, SECRET), cookie=cookie_value(stored.headers["set-cookie"])
    )

    assert json.loads(read.body) == {"session": {"user": "alice"}}
    assert read.headers["vary"] == "Cookie"
    assert "set-cookie" not in read.headers
    assert stored.headers["vary"] == "Cookie"


async def test_a_response_that_never_touched_the_session_has_no_vary():
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await JSONResponse({})(scope, receive, send)

    sent = await request(SessionMiddleware(app, SECRET))

    assert "vary" not in sent.headers


async def test_partitioned_marks_the_cookie():
    sent = await request(SessionMiddleware(session_app, SECRET, partitioned=True), "/set", b"a=1")

    assert sent.headers["set-cookie"].endswith("; httponly; samesite=lax; partitioned")


def test_session_notes_each_kind_of_change():
    from trioapi.middleware.sessions import Session

    def changed(action) -> tuple[bool, bool]:
        session = Session({"a": 1})
        action(session)
        return session.accessed, session.modified

    assert changed(lambda s: s.__setitem__("b", 2)) == (True, True)
    assert changed(lambda s: s.__delitem__("a")) == (True, True)
    assert changed(lambda s: s.pop("a")) == (True, True)
    assert changed(lambda s: s.pop("missing", None)) == (False, False)
    assert changed(lambda s: s.setdefault("a", 9)) == (False, False)
    assert changed(lambda s: s.setdefault("b", 9)) == (True, True)
    assert changed(lambda s: s.update(b=2)) == (True, True)
    assert changed(lambda s: s.popitem()) == (True, True)
    assert changed(lambda s: s.clear()) == (True, True)
    assert changed(lambda s: s.__ior__({"b": 2})) == (True, True)
    assert changed(lambda s: s.get("a")) == (False, False)
