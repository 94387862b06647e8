"""Port a FastAPI project's imports to trioapi: python rename.py app/ tests/

Rewrites, in place, every .py file under the paths given: `fastapi` and
`starlette` become `trioapi`, and the class `FastAPI` becomes `TrioAPI`.
Review the diff afterwards (git diff): it does not touch asyncio code.
"""

import re
import sys
from pathlib import Path

RULES = [
    (re.compile(r"\b(from|import)\s+(fastapi|starlette)\b"), r"\1 trioapi"),
    (re.compile(r"\b(fastapi|starlette)\."), "trioapi."),
    (re.compile(r"\bFastAPI\b"), "TrioAPI"),
]


def port(source: str) -> str:
    for pattern, replacement in RULES:
        source = pattern.sub(replacement, source)
    return source


def main(paths: list[str]) -> None:
    for root in paths:
        files = [Path(root)] if root.endswith(".py") else sorted(Path(root).rglob("*.py"))
        for path in files:
            text = path.read_text()
            if (ported := port(text)) != text:
                path.write_text(ported)
                print(f"ported {path}")


if __name__ == "__main__":
    main(sys.argv[1:])
