"""Version facts about the libraries trioapi builds on.

FastAPI keeps these in ``fastapi._compat``; code ported from it (its test
suites, mostly) imports them from ``trioapi._compat``.
"""

from __future__ import annotations

import pydantic

__all__ = ["PYDANTIC_VERSION", "PYDANTIC_VERSION_MINOR_TUPLE", "PYDANTIC_V2"]

PYDANTIC_VERSION: str = pydantic.VERSION
# (major, minor) as ints, for comparisons like ``>= (2, 10)``.
PYDANTIC_VERSION_MINOR_TUPLE: tuple[int, int] = (
    int(PYDANTIC_VERSION.split(".")[0]),
    int(PYDANTIC_VERSION.split(".")[1]),
)
# trioapi requires pydantic 2; kept for code that still branches on it.
PYDANTIC_V2: bool = PYDANTIC_VERSION_MINOR_TUPLE[0] == 2
