"""The cancellation chaos matrix, many times over: every checkpoint, kind and transport.

Each run serves the chaos app (tests/chaos_app.py), drives one request to a
named checkpoint and cancels it there (deadline, client disconnect, graceful
shutdown, or a cancel from outside), then checks what ``tests/test_chaos.py``
checks (tests/chaos_runner.py). Half the runs of each round after the first
are timing runs: the request does not stop at its checkpoint, and the
cancellation comes a random 0-30 ms after it passed there, wherever the
request then is. Prints counts, and every problem of every run that was not
expected to fail::

    .venv/bin/python bench/chaos.py [--rounds 12] [--seed 1] [--transport h11 ...]

Known failures (tests/chaos_cases.py) wait for their bound, seconds each:
they run in the first round only, unless ``--known-every-round``.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.chaos_cases import all_cases, known_failure, known_timed_failure  # noqa: E402
from tests.chaos_runner import problems_of, run_case  # noqa: E402

MAX_DELAY = 0.03


async def main(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    cases = [c for c in all_cases() if not args.transport or c[0] in args.transport]
    counts: Counter[str] = Counter()
    seen: Counter[tuple[str, str, str]] = Counter()
    unexpected: list[str] = []
    started = time.monotonic()
    for round_number in range(args.rounds):
        order = list(cases)
        rng.shuffle(order)
        for transport, kind, target in order:
            timed = round_number > 0 and rng.random() < 0.5
            known = known_failure(transport, kind, target)
            if known and not timed and round_number and not args.known_every_round:
                continue
            delay = rng.uniform(0, MAX_DELAY) if timed else None
            report = await run_case(transport, kind, target, delay)
            problems = problems_of(report)
            known = known_timed_failure(report)
            mode = "timed" if timed else "held"
            counts[f"runs {mode}"] += 1
            seen[(transport, mode, report.seen)] += 1
            if known and problems:
                counts["known failures, failed"] += 1
            elif known:
                counts["known failures, PASSED (turn the case on)"] += 1
                unexpected.append(f"{transport} {kind} {target}: passes now ({known[:60]}...)")
            elif problems:
                counts["FAILED"] += 1
                when = f"delay {delay:.4f}" if delay is not None else "held"
                unexpected.append(f"{transport} {kind} {target} ({when}): {problems}")
            else:
                counts["passed"] += 1
        print(f"round {round_number + 1}: {dict(counts)} ({time.monotonic() - started:.0f} s)")
    print(
        f"\n{sum(v for k, v in counts.items() if k.startswith('runs'))} runs in "
        f"{time.monotonic() - started:.0f} s: {dict(counts)}"
    )
    print("\nwhat the clients saw (transport, mode, outcome): count")
    for key, number in sorted(seen.items()):
        print(f"  {' '.join(key)}: {number}")
    for line in unexpected:
        print("UNEXPECTED", line[:600])
    return 1 if unexpected else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--transport", action="append", help="only these (repeatable)")
    parser.add_argument("--known-every-round", action="store_true")
    sys.exit(trio.run(main, parser.parse_args()))
