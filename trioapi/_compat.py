"""Version facts about the libraries trioapi builds on.

FastAPI keeps these in ``fastapi._compat``; code ported from it (its test
suites, mostly) imports them from ``trioapi._compat``.
"""

from __future__ import annotations

import inspect
from typing import Any, get_args

import pydantic

__all__ = ["PYDANTIC_VERSION", "PYDANTIC_VERSION_MINOR_TUPLE", "PYDANTIC_V2", "uses_pydantic_v1"]

PYDANTIC_VERSION: str = pydantic.VERSION
# (major, minor) as ints, for comparisons like ``>= (2, 10)``.
PYDANTIC_VERSION_MINOR_TUPLE: tuple[int, int] = (
    int(PYDANTIC_VERSION.split(".")[0]),
    int(PYDANTIC_VERSION.split(".")[1]),
)
# trioapi requires pydantic 2; kept for code that still branches on it.
PYDANTIC_V2: bool = PYDANTIC_VERSION_MINOR_TUPLE[0] == 2


def uses_pydantic_v1(annotation: Any) -> bool:
    """Whether a ``pydantic.v1`` model appears anywhere in ``annotation``.

    ``list[ModelV1]``, ``dict | ModelV1`` and ``Annotated[ModelV1, ...]``
    count too: pydantic 2 cannot validate any of them.
    """
    if inspect.isclass(annotation) and any(
        cls.__module__.startswith("pydantic.v1.") for cls in annotation.__mro__
    ):
        return True
    return any(uses_pydantic_v1(arg) for arg in get_args(annotation))
