"""Instructions per request under callgrind: the in-process benchmark without the machine's noise.

    .venv-bench/bin/python bench/instructions.py ["nested body + response_model" ...]

Needs valgrind (Debian: ``apt-get install valgrind``) and the bench
virtualenv. For each scenario and each of trioapi and FastAPI on trio, runs
this script under ``valgrind --tool=callgrind`` twice, with 0 and with
``--requests`` requests after the same warm-up, and takes the difference; the
harness alone (the requests prepared, the app not called) is measured the
same way and subtracted. Slow: about a minute per run.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.apps import SCENARIOS, build_framework_app  # noqa: E402
from bench.inprocess import TrioRunner, prepare  # noqa: E402


async def run_requests(mode: str, scenario: str, count: int) -> None:
    """Warm up, then make ``count`` requests (``mode`` "harness": prepare them, call nothing)."""
    request = SCENARIOS[scenario]
    runner = TrioRunner(build_framework_app("trioapi" if mode == "harness" else mode))
    async with runner.running():
        for _ in range(200):
            await runner.call(request)
        for _ in range(count):
            scope, receive, send, _ = prepare(request)
            if mode != "harness":
                await runner.app(scope, receive, send)


def instructions(mode: str, scenario: str, count: int) -> int:
    command = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        __file__,
        "--run",
        mode,
        scenario,
        str(count),
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stderr
    collected = re.search(r"Collected : (\d+)", output)
    if collected is None:
        raise SystemExit(output)
    return int(collected.group(1))


def per_request(mode: str, scenario: str, count: int) -> float:
    return (instructions(mode, scenario, count) - instructions(mode, scenario, 0)) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("scenarios", nargs="*", default=list(SCENARIOS))
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--run", nargs=3, metavar=("MODE", "SCENARIO", "COUNT"), help="internal")
    args = parser.parse_args()
    if args.run:
        mode, scenario, count = args.run
        trio.run(run_requests, mode, scenario, int(count))
        return
    print("| scenario | trioapi instructions | FastAPI on trio instructions | ratio |")
    print("|---|---|---|---|")
    for scenario in args.scenarios:
        harness = per_request("harness", scenario, args.requests)
        trioapi = per_request("trioapi", scenario, args.requests) - harness
        fastapi = per_request("fastapi", scenario, args.requests) - harness
        print(f"| {scenario} | {trioapi:,.0f} | {fastapi:,.0f} | {fastapi / trioapi:.2f} |")


if __name__ == "__main__":
    main()
