"""Instructions per request under callgrind: the in-process benchmark without the machine's noise.

    .venv-bench/bin/python bench/instructions.py ["nested body + response_model" ...]
        [--requests 2000] [--jobs 2] [--apps trioapi fastapi]

Needs valgrind (Debian: ``apt-get install valgrind``, which brings
``callgrind_control``) and the bench virtualenv. For each scenario, runs this
script under ``valgrind --tool=callgrind --instr-atstart=no`` once per app
(trioapi, FastAPI on trio) and once for the harness alone (the requests
prepared, the app not called). Each run warms up with 200 requests, then
switches callgrind's instrumentation on for its own process only
(``callgrind_control -i on PID``), makes ``--requests`` requests and switches
it off again: start-up, imports and the warm-up are not counted. The
harness's instructions per request are subtracted from each app's. The hash
seed is fixed (``PYTHONHASHSEED=0``) so set and dict layouts, and so the
counts, repeat from run to run. ``--jobs`` runs go side by side (instruction
counts do not depend on the load); about a minute per run.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.apps import SCENARIOS, build_framework_app  # noqa: E402
from bench.inprocess import TrioRunner, prepare  # noqa: E402

WARM_UP = 200


def _instrument(state: str) -> None:
    """Switch callgrind's counting on or off for this process alone (never for others)."""
    subprocess.run(
        ["callgrind_control", "-i", state, str(os.getpid())], check=True, capture_output=True
    )


async def run_requests(mode: str, scenario: str, count: int) -> None:
    """Warm up, then make ``count`` counted requests (``mode`` "harness": prepare them, call nothing)."""
    request = SCENARIOS[scenario]
    runner = TrioRunner(build_framework_app("trioapi" if mode == "harness" else mode))
    async with runner.running():
        for _ in range(WARM_UP):
            await runner.call(request)
        _instrument("on")
        for _ in range(count):
            scope, receive, send, _ = prepare(request)
            if mode != "harness":
                await runner.app(scope, receive, send)
        _instrument("off")


def per_request(mode: str, scenario: str, count: int) -> float:
    """Instructions per counted request of one run of this script under callgrind."""
    command = [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        __file__,
        "--run",
        mode,
        scenario,
        str(count),
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    output = subprocess.run(command, capture_output=True, text=True, check=True, env=env).stderr
    collected = re.search(r"Collected : (\d+)", output)
    if collected is None:
        raise SystemExit(output)
    return int(collected.group(1)) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("scenarios", nargs="*", default=list(SCENARIOS))
    parser.add_argument("--requests", type=int, default=2000, help="counted requests per run")
    parser.add_argument("--jobs", type=int, default=2, help="runs side by side")
    parser.add_argument(
        "--apps", nargs="+", choices=["trioapi", "fastapi"], default=["trioapi", "fastapi"]
    )
    parser.add_argument("--run", nargs=3, metavar=("MODE", "SCENARIO", "COUNT"), help="internal")
    args = parser.parse_args()
    if args.run:
        mode, scenario, count = args.run
        trio.run(run_requests, mode, scenario, int(count))
        return
    runs = [(mode, scenario) for scenario in args.scenarios for mode in ["harness", *args.apps]]
    with ThreadPoolExecutor(args.jobs) as pool:
        counts = dict(
            zip(runs, pool.map(lambda run: per_request(*run, args.requests), runs), strict=True)
        )
    names = {"trioapi": "trioapi", "fastapi": "FastAPI on trio"}
    header = " | ".join(f"{names.get(app, app)} instructions" for app in args.apps)
    ratio = " | FastAPI / trioapi" if args.apps == ["trioapi", "fastapi"] else ""
    print(f"| scenario | harness | {header}{ratio} |")
    print("|---|---|" + "---|" * (len(args.apps) + (1 if ratio else 0)))
    for scenario in args.scenarios:
        harness = counts["harness", scenario]
        own = [counts[app, scenario] - harness for app in args.apps]
        cells = " | ".join(f"{value:,.0f}" for value in own)
        tail = f" | {own[1] / own[0]:.2f}" if ratio else ""
        print(f"| {scenario} | {harness:,.0f} | {cells}{tail} |")


if __name__ == "__main__":
    main()
