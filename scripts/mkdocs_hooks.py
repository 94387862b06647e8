"""MkDocs hooks for the documentation site (mkdocs.yml ``hooks:``).

A page that holds ``<!-- trioapi --help -->`` or ``<!-- trioapi run --help -->``
gets the command's help text there, taken from the parser the command uses,
so the reference can never drift from the CLI.
"""

from __future__ import annotations

import argparse
import os
import re
from typing import Any

from trioapi.cli import build_parser

MARKER = re.compile(r"<!-- trioapi(?: (?P<command>\w+))? --help -->")


def help_text(command: str | None) -> str:
    """The ``--help`` output of ``trioapi`` or of one of its sub-commands."""
    # argparse wraps to the terminal's width: fix it so every build is the same.
    os.environ["COLUMNS"] = "88"
    parser = build_parser()
    if command is None:
        return parser.format_help()
    for action in parser._actions:  # argparse keeps its sub-parsers only here
        if isinstance(action, argparse._SubParsersAction):
            return str(action.choices[command].format_help())
    raise ValueError(f"trioapi has no sub-command {command!r}")


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    """Replace each help marker with a text block of that help."""
    return MARKER.sub(lambda m: f"```text\n{help_text(m['command']).rstrip()}\n```", markdown)
