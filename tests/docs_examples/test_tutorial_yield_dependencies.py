"""docs/tutorial/dependencies-with-yield.md: teardown order, scopes and cancellation."""

from docs_src.tutorial import dependencies_yield as example
from tests.trio_support import call
from trioapi.testclient import TestClient


def test_function_scope_closes_before_the_response_and_request_scope_after_the_tasks():
    example.events.clear()
    response = TestClient(example.app).post("/orders/42")
    assert response.json() == {"order": "42"}
    assert example.events == [
        "db: open",
        "lock: acquired",
        "endpoint: 42 on db with token",
        "lock: released",
        "receipt for 42",
        "db: commit",
        "db: close",
    ]


async def test_a_client_that_leaves_rolls_the_dependency_back(autojump_clock):
    example.events.clear()
    exchange = await call(example.app, "/slow", disconnect_after=1)
    assert exchange.status is None  # nothing was sent: the work stopped
    assert example.events == ["db: open", "db: rollback (the request was cancelled)", "db: close"]
