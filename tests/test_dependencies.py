"""Dependencies: solving, caching, overrides, and the nesting and teardown of yield dependencies."""

import contextvars
from typing import Annotated

import pytest
import trio
import trio.testing

from trioapi._scopes import CLEANUP_GRACE
from trioapi.applications import TrioAPI
from trioapi.background import BackgroundTasks
from trioapi.dependencies.analysis import DependencyScopeError
from trioapi.exceptions import HTTPException, RequestValidationError, TrioAPIError
from trioapi.param_functions import Depends, Header, Security
from trioapi.responses import Response
from trioapi.security.oauth2 import SecurityScopes
from trioapi.testclient import TestClient
from trioapi.testing import AsyncTestClient


def logged(app, log):
    """Wrap ``app`` so the log records when the response has been completely sent."""

    async def wrapper(scope, receive, send):
        async def logging_send(message):
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                log.append("response sent")

        await app(scope, receive, logging_send)

    return wrapper


# --- plain dependencies ------------------------------------------------------------


def test_sub_dependencies_receive_their_own_parameters():
    app = TrioAPI()

    async def common(q: str | None = None, skip: int = 0, limit: int = 100):
        return {"q": q, "skip": skip, "limit": limit}

    def doubled(commons: Annotated[dict, Depends(common)]):
        return {**commons, "limit": commons["limit"] * 2}

    @app.get("/items")
    async def items(commons: Annotated[dict, Depends(doubled)]):
        return commons

    response = TestClient(app).get("/items?q=x&skip=3")
    assert response.json() == {"q": "x", "skip": 3, "limit": 200}


def test_class_dependency_with_depends_and_no_argument_uses_the_annotation():
    app = TrioAPI()

    class Pager:
        def __init__(self, skip: int = 0, limit: int = 10):
            self.skip = skip
            self.limit = limit

    @app.get("/items")
    async def items(pager: Annotated[Pager, Depends()]):
        return {"skip": pager.skip, "limit": pager.limit}

    assert TestClient(app).get("/items?limit=3").json() == {"skip": 0, "limit": 3}


def test_a_dependency_used_twice_is_called_once_unless_use_cache_is_false():
    app = TrioAPI()
    calls = []

    def counter():
        calls.append("counter")
        return len(calls)

    def first(value: Annotated[int, Depends(counter)]):
        return value

    @app.get("/cached")
    def cached(a: Annotated[int, Depends(first)], b: Annotated[int, Depends(counter)]):
        return [a, b]

    @app.get("/uncached")
    def uncached(
        a: Annotated[int, Depends(counter)],
        b: Annotated[int, Depends(counter, use_cache=False)],
    ):
        return [a, b]

    client = TestClient(app)
    assert client.get("/cached").json() == [1, 1]
    calls.clear()
    assert client.get("/uncached").json() == [1, 2]


def test_route_dependencies_run_first_and_their_values_are_not_passed():
    app = TrioAPI()
    log = []

    async def verify_token(x_token: Annotated[str, Header()]):
        log.append("verify")
        if x_token != "secret":
            raise HTTPException(400, "X-Token header invalid")

    @app.get("/items", dependencies=[Depends(verify_token)])
    async def items():
        log.append("endpoint")
        return ["item"]

    client = TestClient(app)
    assert client.get("/items", headers={"X-Token": "nope"}).json() == {
        "detail": "X-Token header invalid"
    }
    assert client.get("/items", headers={"X-Token": "secret"}).json() == ["item"]
    assert log == ["verify", "verify", "endpoint"]


def test_dependency_overrides_replace_a_dependency_and_read_their_own_parameters():
    app = TrioAPI()

    async def real_user():
        return "real"

    @app.get("/me")
    async def me(user: Annotated[str, Depends(real_user)]):
        return user

    async def fake_user(name: str = "fake"):
        return name

    client = TestClient(app)
    app.dependency_overrides[real_user] = fake_user
    assert client.get("/me?name=bob").json() == "bob"
    assert client.get("/me").json() == "fake"
    app.dependency_overrides.clear()
    assert client.get("/me").json() == "real"


def test_security_scopes_collect_the_scopes_on_the_way_down():
    app = TrioAPI()

    def get_scopes(security_scopes: SecurityScopes):
        return security_scopes.scopes

    def get_user(scopes: Annotated[list[str], Security(get_scopes, scopes=["me"])]):
        return scopes

    @app.get("/items")
    def items(user: Annotated[list[str], Security(get_user, scopes=["items"])]):
        return user

    assert TestClient(app).get("/items").json() == ["items", "me"]


def test_response_parameter_sets_status_headers_and_cookies_on_the_response():
    app = TrioAPI()

    def tag(response: Response):
        response.headers["X-Tag"] = "dep"
        response.set_cookie("seen", "1")

    @app.post("/items", status_code=200)
    def create(response: Response, _: Annotated[None, Depends(tag)]):
        response.status_code = 201
        return {"ok": True}

    response = TestClient(app).post("/items")
    assert response.status_code == 201
    assert response.headers["x-tag"] == "dep"
    assert response.cookies["seen"] == "1"
    assert response.json() == {"ok": True}


# --- yield dependencies: nesting and teardown order ----------------------------------


def make_yield_app(log, *, scope=None):
    app = TrioAPI()

    async def resource():
        log.append("enter")
        try:
            yield "resource"
        except Exception as exc:
            log.append(f"saw {type(exc).__name__}")
            raise
        finally:
            log.append("exit")

    @app.get("/ok")
    async def ok(value: Annotated[str, Depends(resource, scope=scope)], tasks: BackgroundTasks):
        tasks.add_task(log.append, "background")
        log.append("endpoint")
        return value

    @app.get("/missing")
    async def missing(value: Annotated[str, Depends(resource, scope=scope)]):
        log.append("endpoint")
        raise HTTPException(404, "Item not found")

    return app


def test_request_scoped_yield_dependency_closes_after_the_response_and_background_tasks():
    log = []
    client = TestClient(logged(make_yield_app(log), log))
    assert client.get("/ok").json() == "resource"
    assert log == ["enter", "endpoint", "response sent", "background", "exit"]


def test_function_scoped_yield_dependency_closes_before_the_response_is_sent():
    log = []
    client = TestClient(logged(make_yield_app(log, scope="function"), log))
    assert client.get("/ok").json() == "resource"
    assert log == ["enter", "endpoint", "exit", "response sent", "background"]


def test_endpoint_exception_is_thrown_into_the_dependency_at_its_yield():
    log = []
    client = TestClient(logged(make_yield_app(log), log))
    response = client.get("/missing")
    assert response.status_code == 404
    assert response.json() == {"detail": "Item not found"}
    assert log == ["enter", "endpoint", "saw HTTPException", "exit", "response sent"]


def test_request_scoped_dependencies_enclose_function_scoped_ones():
    app = TrioAPI()
    log = []

    def make(name):
        async def dep():
            log.append(f"enter {name}")
            yield name
            log.append(f"exit {name}")

        return dep

    per_function, per_request = make("function"), make("request")

    @app.get("/")
    async def endpoint(
        a: Annotated[str, Depends(per_function, scope="function")],
        b: Annotated[str, Depends(per_request)],
    ):
        log.append("endpoint")
        return [a, b]

    assert TestClient(logged(app, log)).get("/").json() == ["function", "request"]
    assert log == [
        "enter request",
        "enter function",
        "endpoint",
        "exit function",
        "response sent",
        "exit request",
    ]


def test_yield_dependencies_close_last_in_first_out_and_see_sub_dependency_values():
    app = TrioAPI()
    log = []

    async def db():
        log.append("open db")
        yield "db"
        log.append("close db")

    def session(conn: Annotated[str, Depends(db)]):
        log.append(f"open session on {conn}")
        yield f"session({conn})"
        log.append("close session")

    @app.get("/")
    def endpoint(s: Annotated[str, Depends(session)]):
        return s

    assert TestClient(app).get("/").json() == "session(db)"
    assert log == ["open db", "open session on db", "close session", "close db"]


def test_dependency_can_turn_the_endpoint_error_into_an_http_error():
    app = TrioAPI()

    class OwnerError(Exception):
        pass

    def username():
        try:
            yield "Rick"
        except OwnerError as exc:
            raise HTTPException(400, f"Owner error: {exc}") from exc

    @app.get("/items/{item_id}")
    def item(item_id: str, user: Annotated[str, Depends(username)]):
        raise OwnerError(user)

    response = TestClient(app).get("/items/gun")
    assert response.status_code == 400
    assert response.json() == {"detail": "Owner error: Rick"}


def make_swallowing_app(log):
    app = TrioAPI()

    class InternalError(Exception):
        pass

    def username():
        try:
            yield "Rick"
        except InternalError:
            log.append("swallowed")

    @app.get("/items")
    def items(user: Annotated[str, Depends(username)]):
        raise InternalError(user)

    return app


def test_dependency_that_swallows_the_error_does_not_turn_it_into_a_success():
    log = []
    client = TestClient(make_swallowing_app(log))
    with pytest.raises(
        TrioAPIError, match="raising an exception and a dependency with yield"
    ) as info:
        client.get("/items")
    assert type(info.value.__cause__).__name__ == "InternalError"
    assert log == ["swallowed"]


def test_swallowed_error_answers_500_when_server_errors_are_not_raised():
    client = TestClient(make_swallowing_app([]), raise_server_exceptions=False)
    response = client.get("/items")
    assert response.status_code == 500
    assert response.text == "Internal Server Error"


def test_validation_errors_are_thrown_into_entered_yield_dependencies():
    app = TrioAPI()
    log = []

    async def resource():
        try:
            yield "r"
        except RequestValidationError:
            log.append("saw RequestValidationError")
            raise

    @app.get("/items")
    async def items(r: Annotated[str, Depends(resource)], limit: int):
        return limit

    response = TestClient(app).get("/items?limit=x")
    assert response.status_code == 422
    assert log == ["saw RequestValidationError"]


def test_dependency_can_hand_out_a_nursery_that_outlives_the_endpoint():
    app = TrioAPI()
    log = []

    async def task_group():
        async with trio.open_nursery() as nursery:
            yield nursery
        log.append("nursery closed")

    async def job():
        await trio.sleep(0.01)
        log.append("job done")

    @app.get("/")
    async def endpoint(nursery: Annotated[trio.Nursery, Depends(task_group)]):
        nursery.start_soon(job)
        log.append("endpoint")
        return "started"

    assert TestClient(app).get("/").json() == "started"
    assert log == ["endpoint", "job done", "nursery closed"]


def test_context_variables_set_by_an_async_dependency_are_seen_by_the_endpoint():
    app = TrioAPI()
    current_user: contextvars.ContextVar[str] = contextvars.ContextVar("current_user")

    async def login():
        token = current_user.set("alice")
        yield
        current_user.reset(token)

    @app.get("/", dependencies=[Depends(login)])
    async def endpoint():
        return current_user.get()

    assert TestClient(app).get("/").json() == "alice"


async def test_teardown_runs_shielded_when_the_request_deadline_cancels_it(autojump_clock):
    log = []
    app = TrioAPI(timeout=5)

    async def resource():
        try:
            yield "r"
        finally:
            await trio.sleep(1)  # would be cancelled at once without the shield
            log.append("cleaned up")

    @app.get("/slow")
    async def slow(r: Annotated[str, Depends(resource)]):
        await trio.sleep(60)

    async with AsyncTestClient(app) as client:
        response = await client.get("/slow")
    assert response.status_code == 504
    assert log == ["cleaned up"]


async def test_teardown_that_checks_for_cancellation_in_a_cancelled_request_runs_whole(
    autojump_clock,
):
    log = []
    app = TrioAPI(timeout=5)

    async def resource():
        try:
            yield "r"
        finally:
            # Shielded from its start: the request is already cancelled here.
            await trio.lowlevel.checkpoint_if_cancelled()
            log.append("cleaned up")

    @app.get("/slow")
    async def slow(r: Annotated[str, Depends(resource)]):
        await trio.sleep(60)

    async with AsyncTestClient(app) as client:
        response = await client.get("/slow")
    assert response.status_code == 504
    assert log == ["cleaned up"]


async def test_teardown_that_waits_is_shielded_from_a_cancellation_during_the_wait(
    autojump_clock,
):
    log = []
    app = TrioAPI()

    async def resource():
        yield "r"
        log.append("teardown waits")
        await trio.sleep(1)
        log.append("closed")

    @app.get("/")
    async def endpoint(r: Annotated[str, Depends(resource)]):
        return {"r": r}

    async def receive():
        await trio.sleep_forever()

    async def send(message):
        pass

    async with trio.open_nursery() as nursery:
        nursery.start_soon(app, http_scope("/"), receive, send)
        await trio.testing.wait_all_tasks_blocked()
        assert log == ["teardown waits"]
        nursery.cancel_scope.cancel()  # the server cancels the request (a hard shutdown)
    assert log == ["teardown waits", "closed"]


async def test_teardown_that_hangs_is_given_up_on_after_the_cleanup_grace(autojump_clock, caplog):
    app = TrioAPI()

    async def resource():
        yield "r"
        await trio.sleep_forever()

    @app.get("/")
    async def endpoint(r: Annotated[str, Depends(resource)]):
        return {"r": r}

    async with AsyncTestClient(app) as client:
        start = trio.current_time()
        response = await client.get("/")
        waited = trio.current_time() - start
    assert response.json() == {"r": "r"}
    assert waited == pytest.approx(CLEANUP_GRACE)
    assert "resource() took too long and was cancelled" in caplog.text


# --- scope mistakes are registration errors ----------------------------------------


def test_request_scoped_yield_dependency_cannot_depend_on_a_function_scoped_one():
    app = TrioAPI()

    def inner():
        yield 1

    def outer(value: Annotated[int, Depends(inner, scope="function")]):
        yield value

    with pytest.raises(
        DependencyScopeError,
        match=r'GET /: The dependency "test_.*outer" has a scope of "request", it cannot depend '
        r'on dependencies with scope "function" \(.*inner\(\) has it\)',
    ):

        @app.get("/")
        def endpoint(value: Annotated[int, Depends(outer)]):
            return value


def test_indirect_dependency_on_a_function_scoped_one_is_also_an_error():
    app = TrioAPI()

    def inner():
        yield 1

    def middle(value: Annotated[int, Depends(inner, scope="function")]):
        return value

    def outer(value: Annotated[int, Depends(middle)]):
        yield value

    with pytest.raises(
        DependencyScopeError, match=r'yield dependency .*outer\(\) has a scope of "request"'
    ):

        @app.get("/")
        def endpoint(value: Annotated[int, Depends(outer)]):
            return value


def test_one_yield_dependency_used_in_both_scopes_gives_two_values():
    # The scope is part of what a cached value is keyed by, as in FastAPI: the
    # function-scoped use is torn down before the response, the other after.
    app = TrioAPI()
    log = []

    def session():
        log.append("open")
        yield len(log)
        log.append("close")

    @app.get("/")
    def endpoint(
        a: Annotated[int, Depends(session, scope="function")],
        b: Annotated[int, Depends(session, scope="request")],
    ):
        return [a, b]

    assert sorted(TestClient(app).get("/").json()) == [1, 2]
    assert log == ["open", "open", "close", "close"]


def test_plain_dependency_below_a_security_scope_is_still_cached():
    # Scopes only key the cache of dependencies that can read them.
    app = TrioAPI()
    calls = []

    def get_db():
        calls.append("db")
        return "db"

    def get_user(db: Annotated[str, Depends(get_db)]):
        return "user"

    @app.get("/")
    def endpoint(
        db: Annotated[str, Depends(get_db)],
        user: Annotated[str, Security(get_user, scopes=["read"])],
    ):
        return [db, user]

    assert TestClient(app).get("/").json() == ["db", "user"]
    assert calls == ["db"]


def http_scope(path: str) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }


async def test_yield_dependency_closes_once_when_client_disconnects(autojump_clock):
    log = []
    app = TrioAPI()

    async def resource():
        try:
            yield
        except trio.Cancelled:
            log.append("cancelled at yield")
            raise
        finally:
            await trio.sleep(0.5)  # cleanup may still await: it runs shielded
            log.append("closed")

    @app.get("/slow")
    async def slow(_: Annotated[None, Depends(resource)]):
        log.append("endpoint")
        await trio.sleep(100)

    messages = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive():
        if messages:
            return messages.pop(0)
        await trio.sleep(1)
        return {"type": "http.disconnect"}

    sent = []

    async def send(message):
        sent.append(message)

    await app(http_scope("/slow"), receive, send)
    assert log == ["endpoint", "cancelled at yield", "closed"]
    assert sent == []


def test_sync_generator_dependency_sees_the_endpoint_error_in_its_thread():
    app = TrioAPI()
    log = []

    def resource():
        try:
            yield "r"
        except ValueError as exc:
            log.append(f"saw {exc}")
            raise HTTPException(409, "conflict") from exc

    @app.get("/")
    async def endpoint(r: Annotated[str, Depends(resource)]):
        raise ValueError("boom")

    response = TestClient(app).get("/")
    assert (response.status_code, response.json()) == (409, {"detail": "conflict"})
    assert log == ["saw boom"]


def test_dependency_overrides_apply_to_route_dependencies_and_sub_dependencies():
    app = TrioAPI()
    log = []

    def check():
        raise HTTPException(403)

    def user(ok: Annotated[None, Depends(check)]):
        return "user"

    @app.get("/", dependencies=[Depends(check)])
    def endpoint(u: Annotated[str, Depends(user)]):
        return u

    client = TestClient(app)
    assert client.get("/").status_code == 403
    app.dependency_overrides[check] = lambda: log.append("override")
    assert client.get("/").json() == "user"
    assert log == ["override"]  # cached: the override runs once per request


def test_return_annotations_of_dependencies_need_not_resolve():
    # A name imported only under TYPE_CHECKING may appear in a dependency's
    # return annotation; only its parameters are read.
    namespace: dict = {}
    exec(  # a module of its own, with postponed annotations
        "from __future__ import annotations\n"
        "async def get_client(q: int = 1) -> AsyncGenerator[Client, None]:\n"
        "    yield q\n",
        namespace,
    )
    app = TrioAPI()

    @app.get("/")
    async def endpoint(client: Annotated[int, Depends(namespace["get_client"])]):
        return client

    assert TestClient(app).get("/", params={"q": "5"}).json() == 5


def test_a_type_alias_can_carry_the_dependency():
    from typing_extensions import TypeAliasType

    async def some_value() -> int:
        return 123

    Value = TypeAliasType("Value", Annotated[int, Depends(some_value)], type_params=())
    app = TrioAPI()

    @app.get("/")
    async def endpoint(value: Value):
        return value

    assert TestClient(app).get("/").json() == 123
