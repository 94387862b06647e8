"""Path parameter convertors: how a ``{name:type}`` segment matches and converts.

A convertor owns a regular expression (what the segment may contain), a
``convert`` (matched text to value) and a ``to_string`` (value back to text,
for ``url_path_for``). ``register_url_convertor`` adds user-defined ones.
"""

from __future__ import annotations

import math
import uuid
from typing import Any, ClassVar, Generic, TypeVar

__all__ = [
    "CONVERTOR_TYPES",
    "Convertor",
    "FloatConvertor",
    "IntegerConvertor",
    "PathConvertor",
    "StringConvertor",
    "UUIDConvertor",
    "register_url_convertor",
]

T = TypeVar("T")


class _PathValueError(ValueError, AssertionError):
    """A value ``to_string`` cannot put in a path.

    Also an ``AssertionError``, the type Starlette's convertors raise, so
    either ``except`` catches it.
    """


class Convertor(Generic[T]):
    """Base class of path convertors; subclasses set ``regex`` and both methods."""

    regex: ClassVar[str] = ""

    def convert(self, value: str) -> T:
        """The value of a matched path segment."""
        raise NotImplementedError  # pragma: no cover

    def to_string(self, value: T) -> str:
        """The path text of ``value``, for building URLs."""
        raise NotImplementedError  # pragma: no cover


class StringConvertor(Convertor[str]):
    """``{name}`` / ``{name:str}``: one non-empty segment without ``/``."""

    regex = "[^/]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        text = str(value)
        if "/" in text:
            raise _PathValueError(f"A str path parameter may not contain '/', got {text!r}.")
        if not text:
            raise _PathValueError("A str path parameter may not be empty.")
        return text


class PathConvertor(Convertor[str]):
    """``{name:path}``: the rest of the path, ``/`` included."""

    regex = ".*"

    def convert(self, value: str) -> str:
        return str(value)

    def to_string(self, value: str) -> str:
        return str(value)


class IntegerConvertor(Convertor[int]):
    """``{name:int}``: a non-negative decimal integer."""

    regex = "[0-9]+"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        number = int(value)
        if number < 0:
            raise _PathValueError(f"An int path parameter must not be negative, got {number}.")
        return str(number)


class FloatConvertor(Convertor[float]):
    """``{name:float}``: a non-negative decimal number."""

    regex = r"[0-9]+(\.[0-9]+)?"

    def convert(self, value: str) -> float:
        return float(value)

    def to_string(self, value: float) -> str:
        number = float(value)
        if number < 0 or math.isnan(number) or math.isinf(number):
            raise _PathValueError(f"A float path parameter must be finite and >= 0, got {number}.")
        return f"{number:0.20f}".rstrip("0").rstrip(".")


class UUIDConvertor(Convertor[uuid.UUID]):
    """``{name:uuid}``: a UUID as 32 hex digits, with or without its four dashes (any case)."""

    regex = "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"

    def convert(self, value: str) -> uuid.UUID:
        return uuid.UUID(value)

    def to_string(self, value: uuid.UUID) -> str:
        return str(value)


CONVERTOR_TYPES: dict[str, Convertor[Any]] = {
    "str": StringConvertor(),
    "path": PathConvertor(),
    "int": IntegerConvertor(),
    "float": FloatConvertor(),
    "uuid": UUIDConvertor(),
}


def register_url_convertor(key: str, convertor: Convertor[Any]) -> None:
    """Make ``{name:key}`` available in paths compiled from now on."""
    CONVERTOR_TYPES[key] = convertor
