"""The status module names every code Starlette and FastAPI name, with the right value."""

from __future__ import annotations

import ast
import http
from pathlib import Path

from trioapi import status


def test_every_http_status_in_the_standard_library_has_a_constant():
    missing = [
        f"HTTP_{code.value}_{code.name}"
        for code in http.HTTPStatus
        if code.value != 306  # named RESERVED by Starlette, UNUSED by the stdlib
        and f"HTTP_{code.value}_{code.name}" not in dir(status)
    ]
    assert missing == []


def test_constant_values_match_the_number_in_their_name():
    for name in status.__all__:
        assert getattr(status, name) == int(name.split("_")[1]), name


def test_renamed_statuses_keep_the_old_names_with_a_warning():
    import pytest

    from trioapi.exceptions import TrioAPIDeprecationWarning

    for old, new, code in (
        ("HTTP_413_REQUEST_ENTITY_TOO_LARGE", "HTTP_413_CONTENT_TOO_LARGE", 413),
        ("HTTP_414_REQUEST_URI_TOO_LONG", "HTTP_414_URI_TOO_LONG", 414),
        ("HTTP_416_REQUESTED_RANGE_NOT_SATISFIABLE", "HTTP_416_RANGE_NOT_SATISFIABLE", 416),
        ("HTTP_422_UNPROCESSABLE_ENTITY", "HTTP_422_UNPROCESSABLE_CONTENT", 422),
    ):
        with pytest.warns(TrioAPIDeprecationWarning, match=f"'{old}' is deprecated. Use '{new}'"):
            assert getattr(status, old) == getattr(status, new) == code
        assert old in dir(status)
    with pytest.raises(AttributeError, match="has no attribute 'HTTP_999_NOPE'"):
        status.HTTP_999_NOPE  # noqa: B018


def test_other_statuses():
    assert status.HTTP_418_IM_A_TEAPOT == 418
    assert status.HTTP_421_MISDIRECTED_REQUEST == 421
    assert status.HTTP_425_TOO_EARLY == 425
    assert status.HTTP_451_UNAVAILABLE_FOR_LEGAL_REASONS == 451
    assert status.HTTP_306_RESERVED == 306


def test_websocket_close_codes():
    codes = sorted(getattr(status, name) for name in status.__all__ if name.startswith("WS_"))
    assert codes == [
        1000,
        1001,
        1002,
        1003,
        1005,
        1006,
        1007,
        1008,
        1009,
        1010,
        1011,
        1012,
        1013,
        1014,
        1015,
    ]
    assert status.WS_1000_NORMAL_CLOSURE == 1000
    assert status.WS_1008_POLICY_VIOLATION == 1008
    assert status.WS_1015_TLS_HANDSHAKE == 1015


def test_all_lists_exactly_the_constants_written_out_as_literals():
    tree = ast.parse(Path(status.__file__).read_text())
    assigned = [
        node.targets[0].id
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.targets[0], ast.Name)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, int)
    ]
    assert sorted(assigned) == sorted(status.__all__)
    assert len(set(status.__all__)) == len(status.__all__)
