"""The in-process benchmark's harness and apps still work (FastAPI is not installed here)."""

from __future__ import annotations

import json

import pytest

from bench.apps import SCENARIOS
from bench.inprocess import build_runners, prepare, rates, request_messages


def test_a_request_is_queued_as_hypercorn_queues_it():
    post = SCENARIOS["nested body + response_model"]
    assert [(m["body"] == post[4], m["more_body"]) for m in request_messages(post)] == [
        (True, True),
        (False, False),
    ]
    assert request_messages(SCENARIOS["plaintext"]) == [
        {"type": "http.request", "body": b"", "more_body": False}
    ]
    scope, receive, _, sent = prepare(post)
    assert (scope["method"], scope["path"], sent) == ("POST", "/orders", [])
    assert (b"content-length", str(len(post[4])).encode()) in scope["headers"]


@pytest.mark.parametrize("scenario", list(SCENARIOS))
async def test_trioapi_answers_every_scenario_as_the_bare_app_does(scenario):
    runners = build_runners()
    assert set(runners) == {"bare ASGI", "trioapi"}
    request = SCENARIOS[scenario]
    async with runners["trioapi"].running():
        answers = {name: await runner.call(request) for name, runner in runners.items()}
        measured = await rates(runners, request, seconds=0.001)
    bare_status, bare_body = answers["bare ASGI"]
    status, body = answers["trioapi"]
    assert status == bare_status == 200
    if scenario == "plaintext":
        assert body == bare_body == b"Hello, World!"
    else:
        assert json.loads(body) == json.loads(bare_body)
    assert all(rate > 0 for rate in measured.values())


def test_the_served_table_reads_every_app_against_the_fair_floor(capsys):
    from bench.served import print_table

    rates = {
        "floor": {"plaintext": 1000.0},
        "trioapi": {"plaintext": 800.0},
        "FastAPI on uvicorn": {"plaintext": 3000.0},
    }
    print_table(list(rates), ["plaintext"], rates, "req/CPU-s")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("| trioapi / floor | FastAPI on uvicorn / floor |")
    assert lines[2] == "| plaintext | 1,000 | 800 | 3,000 | 0.80x | 3.00x |"


def test_a_cost_per_request_reads_against_the_floor_as_a_rate_does(capsys):
    from bench.served import print_table

    micros = {"floor": {"json": 400.0}, "trioapi": {"json": 500.0}}
    print_table(list(micros), ["json"], micros, "µs/req", per_request=True)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "| scenario | floor µs/req | trioapi µs/req | trioapi / floor |"
    assert lines[2] == "| json | 400 | 500 | 0.80x |"


def test_the_floor_is_the_bare_app_outside_a_hypercorn_worker():
    from bench.apps import bare_app
    from bench.served import floor_app

    assert floor_app() is bare_app
