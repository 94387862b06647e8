"""FastAPI 0.163's newer dependency and parameter semantics, and the framework's own errors.

``Depends(max_concurrency=N)``, header parameters that ignore underscore
spellings, the clear error for form parameters without python-multipart,
and ``TrioAPIError`` / ``TrioAPIDeprecationWarning``. (Strict JSON
content types: tests/test_strict_content_type.py; ``DependencyScopeError``
and the swallowed-exception error: tests/test_dependencies.py.)
"""

import sys
import warnings
from typing import Annotated

import pytest
import trio

import trioapi
import trioapi.exceptions
from tests.trio_support import call
from trioapi import APIRouter, Depends, File, Form, Header, TrioAPI, UploadFile
from trioapi.exceptions import TrioAPIDeprecationWarning, TrioAPIError
from trioapi.params import Query
from trioapi.testclient import TestClient

# --- Depends(max_concurrency=N) ------------------------------------------------


class Gauge:
    """Counts the calls running at once and the most seen together."""

    def __init__(self) -> None:
        self.running = 0
        self.peak = 0

    async def hold(self, seconds: float) -> None:
        self.running += 1
        self.peak = max(self.peak, self.running)
        try:
            await trio.sleep(seconds)
        finally:
            self.running -= 1


async def run_together(app: TrioAPI, paths: list[str]) -> list:
    results: list = [None] * len(paths)

    async def one(i: int, path: str) -> None:
        results[i] = await call(app, path)

    async with trio.open_nursery() as nursery:
        for i, path in enumerate(paths):
            nursery.start_soon(one, i, path)
    return results


async def test_max_concurrency_lets_n_calls_run_at_once_and_queues_the_rest(autojump_clock):
    gauge = Gauge()
    app = TrioAPI()

    async def database() -> str:
        await gauge.hold(1)
        return "db"

    @app.get("/")
    async def endpoint(db: Annotated[str, Depends(database, max_concurrency=2)]):
        return {"db": db, "at": trio.current_time()}

    exchanges = await run_together(app, ["/"] * 5)
    assert [e.status for e in exchanges] == [200] * 5
    assert gauge.peak == 2
    # Five one-second calls, two at a time: they finish at 1, 1, 2, 2 and 3 s.
    assert sorted(e.json()["at"] for e in exchanges) == pytest.approx([1, 1, 2, 2, 3])


async def test_without_max_concurrency_every_call_runs_at_once(autojump_clock):
    gauge = Gauge()
    app = TrioAPI()

    async def database() -> str:
        await gauge.hold(1)
        return "db"

    @app.get("/")
    async def endpoint(db: Annotated[str, Depends(database)]):
        return trio.current_time()

    exchanges = await run_together(app, ["/"] * 5)
    assert gauge.peak == 5
    assert [e.json() for e in exchanges] == pytest.approx([1] * 5)


async def test_a_yield_dependency_keeps_its_slot_until_it_is_torn_down(autojump_clock):
    log = []
    app = TrioAPI()

    async def session():
        log.append(("open", trio.current_time()))
        yield "session"
        await trio.sleep(1)  # a slow teardown still holds the slot
        log.append(("closed", trio.current_time()))

    @app.get("/")
    async def endpoint(s: Annotated[str, Depends(session, max_concurrency=1)]):
        return s

    exchanges = await run_together(app, ["/", "/"])
    assert [e.json() for e in exchanges] == ["session", "session"]
    assert log == [("open", 0), ("closed", 1), ("open", 1), ("closed", 2)]


async def test_the_limit_is_shared_by_every_route_declaring_the_same_dependency(autojump_clock):
    gauge = Gauge()
    app = TrioAPI()

    async def database() -> str:
        await gauge.hold(1)
        return "db"

    @app.get("/a")
    async def a(db: Annotated[str, Depends(database, max_concurrency=1)]):
        return "a"

    @app.get("/b")
    async def b(db: Annotated[str, Depends(database, max_concurrency=1)]):
        return "b"

    exchanges = await run_together(app, ["/a", "/b", "/a"])
    assert [e.json() for e in exchanges] == ["a", "b", "a"]
    assert gauge.peak == 1
    assert sorted(e.finished_at for e in exchanges) == pytest.approx([1, 2, 3])


async def test_each_app_owns_its_slots_and_included_routes_share_them(autojump_clock):
    gauge = Gauge()

    async def database() -> str:
        await gauge.hold(1)
        return "db"

    async def endpoint(db: Annotated[str, Depends(database, max_concurrency=1)]) -> str:
        return db

    first, second = TrioAPI(), TrioAPI()
    router = APIRouter()
    router.add_api_route("/", endpoint)
    first.include_router(router, prefix="/a")
    first.include_router(router, prefix="/b")
    second.include_router(router)

    async def one(app: TrioAPI, path: str, finished: list) -> None:
        finished.append((path, (await call(app, path)).finished_at))

    finished: list = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(one, first, "/a/", finished)
        nursery.start_soon(one, first, "/b/", finished)
        nursery.start_soon(one, second, "/", finished)
    # The first app's two routes share one slot; the second app has its own.
    assert sorted(at for _, at in finished) == pytest.approx([1, 1, 2])
    assert gauge.peak == 2


async def test_a_sync_dependency_takes_its_slot_before_going_to_a_worker_thread():
    gauge = Gauge()
    app = TrioAPI()

    def blocking_database() -> str:
        trio.from_thread.run(gauge.hold, 0.01)  # counted while the thread holds the slot
        return "db"

    @app.get("/")
    def endpoint(db: Annotated[str, Depends(blocking_database, max_concurrency=2)]):
        return db

    exchanges = await run_together(app, ["/"] * 6)
    assert [e.json() for e in exchanges] == ["db"] * 6
    assert gauge.peak == 2


async def test_an_override_is_limited_by_the_declaration_it_replaces(autojump_clock):
    gauge = Gauge()
    app = TrioAPI()

    async def database() -> str:
        return "real"

    async def fake_database() -> str:
        await gauge.hold(1)
        return "fake"

    @app.get("/")
    async def endpoint(db: Annotated[str, Depends(database, max_concurrency=1)]):
        return db

    app.dependency_overrides[database] = fake_database
    exchanges = await run_together(app, ["/"] * 3)
    assert [e.json() for e in exchanges] == ["fake"] * 3
    assert gauge.peak == 1


async def test_a_request_waiting_for_a_slot_is_cancelled_when_the_client_leaves(autojump_clock):
    log = []
    app = TrioAPI()

    async def database() -> str:
        log.append("called")
        await trio.sleep(10)
        return "db"

    @app.get("/")
    async def endpoint(db: Annotated[str, Depends(database, max_concurrency=1)]):
        return db

    async with trio.open_nursery() as nursery:
        nursery.start_soon(call, app, "/")
        await trio.sleep(1)
        waiting = await call(app, "/", disconnect_after=1)
    assert waiting.sent == []
    assert waiting.finished_at == pytest.approx(2)
    assert log == ["called"]  # the one that left never took a slot


@pytest.mark.parametrize("limit", [0, -1, 1.5, True, "2"])
def test_max_concurrency_must_be_a_positive_int(limit):
    async def database() -> str:
        return "db"

    with pytest.raises(
        TrioAPIError, match=r"max_concurrency=.*must be a whole number of at least 1"
    ):
        Depends(database, max_concurrency=limit)


# --- header parameters and underscores ------------------------------------------


def header_app() -> TrioAPI:
    app = TrioAPI()

    @app.get("/converted")
    async def converted(x_token: Annotated[str | None, Header()] = None):
        return {"x_token": x_token}

    @app.get("/literal")
    async def literal(x_token: Annotated[str | None, Header(convert_underscores=False)] = None):
        return {"x_token": x_token}

    @app.get("/required")
    async def required(x_token: Annotated[str, Header()]):
        return {"x_token": x_token}

    return app


def test_header_param_reads_the_dashed_name_and_ignores_the_underscore_spelling():
    client = TestClient(header_app())
    assert client.get("/converted", headers={"x-token": "dashes"}).json() == {"x_token": "dashes"}
    assert client.get("/converted", headers={"x_token": "under"}).json() == {"x_token": None}


def test_a_required_header_sent_with_underscores_is_reported_missing_at_its_dashed_name():
    response = TestClient(header_app()).get("/required", headers={"x_token": "under"})
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {
                "type": "missing",
                "loc": ["header", "x-token"],
                "msg": "Field required",
                "input": None,
            }
        ]
    }


def test_convert_underscores_false_reads_only_the_underscore_spelling():
    client = TestClient(header_app())
    assert client.get("/literal", headers={"x_token": "under"}).json() == {"x_token": "under"}
    assert client.get("/literal", headers={"x-token": "dashes"}).json() == {"x_token": None}


# --- python-multipart is needed for form parameters -------------------------------


@pytest.fixture
def without_multipart(monkeypatch):
    # A None entry in sys.modules makes `import python_multipart` raise ImportError.
    monkeypatch.setitem(sys.modules, "python_multipart", None)


@pytest.mark.usefixtures("without_multipart")
@pytest.mark.parametrize("declaration", [Form, File])
def test_form_parameter_without_python_multipart_is_a_registration_error(declaration):
    app = TrioAPI()

    async def login(username: Annotated[str, declaration()]):
        return username

    message = (
        r"^POST /login: parameter 'username' of .*login\(\) is declared with "
        rf"{declaration.__name__}\(\), and reading form data needs the \"python-multipart\" "
        r"package, which is not installed\. Install it: pip install python-multipart\.$"
    )
    with pytest.raises(TrioAPIError, match=message):
        app.post("/login")(login)
    assert app.routes[-1].path != "/login"


@pytest.mark.usefixtures("without_multipart")
def test_upload_file_parameter_without_python_multipart_is_a_registration_error():
    app = TrioAPI()
    with pytest.raises(TrioAPIError, match=r"'upload' of .*python-multipart"):

        @app.post("/files")
        async def upload(upload: UploadFile):
            return upload.filename


@pytest.mark.usefixtures("without_multipart")
def test_routes_without_form_parameters_do_not_need_python_multipart():
    app = TrioAPI()

    @app.get("/items")
    async def items(q: Annotated[str, Query()] = "x"):
        return q

    assert TestClient(app).get("/items").json() == "x"


# --- the framework's own error and warning classes -------------------------------


def test_trioapi_error_is_a_runtime_error_exported_at_the_top_level():
    assert issubclass(TrioAPIError, RuntimeError)
    assert trioapi.exceptions.TrioAPIError is TrioAPIError
    assert "FastAPIError" not in dir(trioapi.exceptions)


def test_configuration_mistakes_raise_trioapi_error_at_registration():
    app = TrioAPI()
    with pytest.raises(TrioAPIError, match=r"^GET /items: parameter 'item_id' of .*Path\(\)"):

        @app.get("/items")
        async def item(item_id: Annotated[int, trioapi.Path()]):
            return item_id


def test_deprecation_warning_class_is_a_user_warning_that_can_be_filtered():
    assert issubclass(TrioAPIDeprecationWarning, UserWarning)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.warn("old", TrioAPIDeprecationWarning, stacklevel=1)
    assert [w.category for w in caught] == [TrioAPIDeprecationWarning]
