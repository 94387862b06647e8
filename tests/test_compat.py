"""trioapi._compat: the version facts that code ported from FastAPI imports."""

import pydantic

from trioapi._compat import PYDANTIC_V2, PYDANTIC_VERSION, PYDANTIC_VERSION_MINOR_TUPLE


def test_pydantic_version_minor_tuple_matches_the_installed_pydantic() -> None:
    major, minor = pydantic.VERSION.split(".")[:2]
    assert PYDANTIC_VERSION == pydantic.VERSION
    assert PYDANTIC_VERSION_MINOR_TUPLE == (int(major), int(minor))
    assert PYDANTIC_VERSION_MINOR_TUPLE >= (2, 7)
    assert PYDANTIC_V2 is True
