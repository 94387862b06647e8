"""Yield dependencies that never wait: their teardown runs without a teardown scope.

An async generator whose own code has no ``await``, ``async for``, ``async
with`` or ``with`` cannot be cancelled or hold a cancel scope across its
``yield``; the solver enters and tears it down without the shielded scope
the others get. What a request sees must not change.
"""

import functools
from typing import Annotated

import pytest
import trio

from tests.trio_support import http_scope
from trioapi import Depends, TrioAPI
from trioapi.dependencies.call_kinds import never_waits
from trioapi.exceptions import HTTPException, TrioAPIError
from trioapi.testclient import TestClient
from trioapi.testing import AsyncTestClient


async def plain():
    yield "value"


async def with_finally():
    try:
        yield "value"
    finally:
        print("closed")


async def awaits():
    yield "value"
    await trio.sleep(0)


async def async_for():
    async for item in trio.open_memory_channel[int](0)[1]:
        yield item


async def async_with():
    async with trio.open_nursery():
        yield "value"


async def sync_with():
    with trio.CancelScope():
        yield "value"


def sync_generator():
    yield "value"


class CallableGenerator:
    async def __call__(self):
        yield "value"


@functools.wraps(plain)
def wrapped():
    return plain()


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (plain, True),
        (with_finally, True),
        (functools.partial(plain), True),
        (awaits, False),
        (async_for, False),
        (async_with, False),
        (sync_with, False),
        (sync_generator, False),
        (CallableGenerator(), False),
        (wrapped, False),
        (None, False),
    ],
)
def test_only_plain_async_generators_without_await_or_with_never_wait(call, expected):
    assert never_waits(call) is expected


def test_the_plan_marks_only_never_waiting_generators():
    app = TrioAPI()

    @app.get("/")
    async def endpoint(
        a: Annotated[str, Depends(plain)], b: Annotated[str, Depends(awaits)]
    ) -> list[str]:
        return [a, b]

    route = app.routes[-1]
    steps = {step.name: step.never_waits for step in route.plans.plan.steps[:-1]}
    assert steps == {"plain()": True, "awaits()": False}
    assert TestClient(app).get("/").json() == ["value", "value"]


def test_a_never_waiting_generator_sees_the_result_and_is_closed_once():
    log = []
    app = TrioAPI()

    async def resource():
        log.append("setup")
        try:
            yield "r"
        finally:
            log.append("teardown")

    @app.get("/")
    async def endpoint(r: Annotated[str, Depends(resource)]):
        log.append("endpoint")
        return {"r": r}

    assert TestClient(app).get("/").json() == {"r": "r"}
    assert log == ["setup", "endpoint", "teardown"]


def test_a_never_waiting_generator_that_swallows_the_error_is_a_server_error():
    log = []
    app = TrioAPI()

    class InternalError(Exception):
        pass

    async def username():
        try:
            yield "Rick"
        except InternalError:
            log.append("swallowed")

    @app.get("/items")
    async def items(user: Annotated[str, Depends(username)]):
        raise InternalError(user)

    with pytest.raises(TrioAPIError, match="dependency with yield") as info:
        TestClient(app).get("/items")
    assert type(info.value.__cause__).__name__ == "InternalError"
    assert log == ["swallowed"]


def test_a_never_waiting_generator_that_returns_without_yielding_is_an_error():
    app = TrioAPI()

    async def nothing():
        if False:
            yield  # pragma: no cover

    @app.get("/")
    async def endpoint(n: Annotated[None, Depends(nothing)]):
        return {}

    with pytest.raises(RuntimeError, match="returned without yielding"):
        TestClient(app).get("/")


async def test_a_cancelled_request_closes_a_never_waiting_generator_once(autojump_clock):
    log = []
    app = TrioAPI(timeout=5)

    async def resource():
        try:
            yield "r"
        except BaseException as exc:
            log.append(type(exc).__name__)
            raise
        finally:
            log.append("closed")

    @app.get("/slow")
    async def slow(r: Annotated[str, Depends(resource)]):
        await trio.sleep(60)

    async with AsyncTestClient(app) as client:
        response = await client.get("/slow")
    assert response.status_code == 504
    assert log == ["Cancelled", "closed"]


async def test_a_cancellation_during_the_response_is_delivered_after_the_teardown(
    autojump_clock,
):
    log = []
    app = TrioAPI()
    cancel_scope = trio.CancelScope()

    async def resource():
        yield "r"
        cancel_scope.cancel()  # a cancellation arriving as the teardown runs
        log.append("closed")

    @app.get("/")
    async def endpoint(r: Annotated[str, Depends(resource)]):
        return {"r": r}

    sent = []

    async def receive():
        await trio.sleep_forever()

    async def send(message):
        sent.append(message["type"])

    with cancel_scope:
        await app(http_scope("/"), receive, send)
    assert log == ["closed"]
    assert sent == ["http.response.start", "http.response.body"]
    assert cancel_scope.cancelled_caught


def test_a_never_waiting_generator_that_yields_twice_is_an_error():
    app = TrioAPI()

    async def twice():
        yield "one"
        yield "two"

    @app.get("/")
    async def endpoint(value: Annotated[str, Depends(twice)]):
        return {"value": value}

    with pytest.raises(RuntimeError, match="yielded more than once"):
        TestClient(app).get("/")


def test_an_error_thrown_into_a_never_waiting_generator_is_answered_as_raised():
    log = []
    app = TrioAPI()

    async def resource():
        try:
            yield "r"
        except HTTPException as exc:
            log.append(exc.status_code)
            raise

    @app.get("/")
    async def endpoint(r: Annotated[str, Depends(resource)]):
        raise HTTPException(status_code=418, detail="teapot")

    response = TestClient(app).get("/")
    assert response.status_code == 418
    assert response.json() == {"detail": "teapot"}
    assert log == [418]
