"""``trioapi.utils``: the helpers FastAPI's ``fastapi.utils`` offers extension code.

A façade: each helper lives beside what uses it (the unique-id function with
routing, ``deep_dict_update`` with OpenAPI, ...); ported imports such as
``from trioapi.utils import generate_unique_id`` find them here.
"""

from __future__ import annotations

import re
import warnings

from trioapi._compat import uses_pydantic_v1 as annotation_is_pydantic_v1
from trioapi._routing.response_model import is_body_allowed_for_status_code
from trioapi._routing.router_include import first_given as get_value_or_default
from trioapi._routing.unique_id import generate_unique_id
from trioapi.datastructures import DefaultPlaceholder
from trioapi.exceptions import PydanticV1NotSupportedError, TrioAPIDeprecationWarning
from trioapi.openapi._responses import deep_dict_update

__all__ = [
    "DefaultPlaceholder",
    "PydanticV1NotSupportedError",
    "TrioAPIDeprecationWarning",
    "annotation_is_pydantic_v1",
    "deep_dict_update",
    "generate_operation_id_for_path",
    "generate_unique_id",
    "get_path_param_names",
    "get_value_or_default",
    "is_body_allowed_for_status_code",
]

_PATH_PARAM = re.compile("{(.*?)}")
_NON_WORD = re.compile(r"\W")


def get_path_param_names(path: str) -> set[str]:
    """The names between braces in ``path`` (``{"item_id"}`` for ``/items/{item_id}``)."""
    return set(_PATH_PARAM.findall(path))


def generate_operation_id_for_path(*, name: str, path: str, method: str) -> str:
    """Deprecated in FastAPI, kept for ported code: ``name`` + ``path`` + ``_method``, as an id."""
    warnings.warn(
        "trioapi.utils.generate_operation_id_for_path() was deprecated, it is not used "
        "internally, and will be removed soon",
        category=TrioAPIDeprecationWarning,
        stacklevel=2,
    )
    return f"{_NON_WORD.sub('_', name + path)}_{method.lower()}"
