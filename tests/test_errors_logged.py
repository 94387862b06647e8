"""Errors never lost: failures after the response, in teardowns and in cancelled requests are logged."""

import logging
from typing import Annotated

import pytest
import trio

from tests.trio_support import call
from trioapi import BackgroundTasks, Depends, TrioAPI

REQUEST = [(b"x-request-id", b"req-7")]


def error_records(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "trioapi" and r.levelno >= logging.ERROR]


async def test_a_failing_background_task_is_logged_with_its_request(caplog):
    app = TrioAPI()

    def send_email(to: str) -> None:
        raise ConnectionError(f"smtp down for {to}")

    @app.post("/signup")
    async def signup(tasks: BackgroundTasks):
        tasks.add_task(send_email, "ann@example.com")
        return {"ok": True}

    with pytest.raises(ConnectionError, match="smtp down"):
        await call(app, "/signup", method="POST", headers=REQUEST)
    [record] = error_records(caplog)
    assert record.getMessage() == "Unhandled error in POST /signup (request id req-7)"
    assert (record.method, record.path, record.request_id) == ("POST", "/signup", "req-7")
    error = record.exc_info[1]
    assert isinstance(error, ConnectionError)
    assert any("background task" in note and "send_email" in note for note in error.__notes__)


async def test_a_teardown_error_after_the_response_is_logged_with_its_request(caplog):
    app = TrioAPI()

    async def session():
        yield "s"
        raise RuntimeError("commit failed")

    @app.get("/items")
    async def items(s: Annotated[str, Depends(session)]):
        return ["a"]

    with pytest.raises(RuntimeError, match="commit failed"):
        await call(app, "/items", headers=REQUEST)
    [record] = error_records(caplog)
    assert record.getMessage() == "Unhandled error in GET /items (request id req-7)"
    assert str(record.exc_info[1]) == "commit failed"


async def test_a_teardown_error_in_a_cancelled_request_is_logged(autojump_clock, caplog):
    app = TrioAPI()
    log = []

    async def session():
        try:
            yield
        finally:
            log.append("teardown ran")
            raise RuntimeError("rollback failed")  # noqa: B012 - the case under test

    @app.get("/slow")
    async def slow(_: Annotated[None, Depends(session)]):
        await trio.sleep(10)

    with pytest.raises(RuntimeError, match="rollback failed"):
        await call(app, "/slow", disconnect_after=1, headers=REQUEST)
    assert log == ["teardown ran"]
    [record] = error_records(caplog)
    assert record.getMessage() == "Unhandled error in GET /slow (request id req-7)"


async def test_requests_without_an_id_header_get_a_random_one(caplog):
    app = TrioAPI()

    @app.get("/")
    async def endpoint():
        raise LookupError("x")

    for _ in range(2):
        with pytest.raises(LookupError):
            await call(app, "/")
    ids = [r.request_id for r in error_records(caplog)]
    assert len(ids) == 2
    assert ids[0] != ids[1]
    assert all(len(i) == 16 and int(i, 16) >= 0 for i in ids)


async def test_a_clean_cancelled_request_logs_no_error(autojump_clock, caplog):
    app = TrioAPI()

    async def session():
        yield

    @app.get("/slow")
    async def slow(_: Annotated[None, Depends(session)], tasks: BackgroundTasks):
        await trio.sleep(10)

    await call(app, "/slow", disconnect_after=1)
    assert error_records(caplog) == []
