"""Wrapped dependencies and endpoints are called as what they wrap, as in FastAPI."""

import functools
from collections.abc import AsyncIterator, Iterator
from typing import Annotated

import pytest

from trioapi import Depends, TrioAPI
from trioapi.dependencies.call_kinds import CallKind, call_kind
from trioapi.testclient import TestClient


def plain_wrap(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return func(*args, **kwargs)

    return wrapper


async def coroutine() -> bool:
    return True


def generator() -> Iterator[bool]:
    yield True


async def async_generator() -> AsyncIterator[bool]:
    yield True


class AsyncCall:
    async def __call__(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("call", "kind"),
    [
        (plain_wrap(coroutine), CallKind(False, False, True)),
        (plain_wrap(generator), CallKind(True, False, False)),
        (plain_wrap(async_generator), CallKind(False, True, False)),
        (functools.partial(plain_wrap(coroutine)), CallKind(False, False, True)),
        (plain_wrap(AsyncCall()), CallKind(False, False, True)),
        (plain_wrap(lambda: True), CallKind(False, False, False)),
    ],
)
def test_a_wrapped_callable_is_classified_as_what_it_wraps(call, kind):
    assert call_kind(call) == kind


def test_wrapped_dependencies_and_endpoints_are_awaited_or_entered():
    app = TrioAPI()
    log = []

    @plain_wrap
    def session() -> Iterator[str]:
        log.append("open")
        yield "session"
        log.append("close")

    @app.get("/")
    @plain_wrap
    async def endpoint(
        a: Annotated[bool, Depends(plain_wrap(coroutine))],
        s: Annotated[str, Depends(session)],
        g: Annotated[bool, Depends(plain_wrap(async_generator))],
    ):
        return [a, s, g]

    assert TestClient(app).get("/").json() == [True, "session", True]
    assert log == ["open", "close"]
