"""Print the installed hypercorn release and which of trioapi's fixes apply to it, and why.

    python scripts/hypercorn_fixes.py

Changes nothing (``trioapi.server.plan_hypercorn_fixes``). ``make
test-hypercorn-latest`` prints it before running the served tests.
"""

from __future__ import annotations

import importlib.metadata

import hypercorn.trio  # noqa: F401 - the fixes' shape checks read hypercorn's worker

from trioapi.server import plan_hypercorn_fixes


def main() -> None:
    print(f"hypercorn {importlib.metadata.version('hypercorn')}")
    for decision in plan_hypercorn_fixes():
        verdict = "applies" if decision.applies else f"skipped: {decision.reason}"
        print(f"  fix {decision.fix.name}: {verdict}")


if __name__ == "__main__":
    main()
