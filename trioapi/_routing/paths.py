"""Compiling route paths: ``/items/{item_id:int}`` into a regex, a format and convertors."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_to_bytes

from trioapi.convertors import CONVERTOR_TYPES, Convertor
from trioapi.exceptions import TrioAPIError
from trioapi.types import Scope

__all__ = [
    "CompiledPath",
    "DuplicatedParamsError",
    "compile_path",
    "get_name",
    "get_route_path",
    "has_utf8_path",
    "replace_params",
]

# ``{name}`` or ``{name:type}``; names are Python identifiers.
_PARAM = re.compile(r"{([a-zA-Z_][a-zA-Z0-9_]*)(:[a-zA-Z_][a-zA-Z0-9_]*)?}")
# A ``{name}`` placeholder of a compiled format; split() keeps the names.
_PLACEHOLDER = re.compile(r"{([a-zA-Z_][a-zA-Z0-9_]*)}")


class DuplicatedParamsError(TrioAPIError, ValueError):
    """A path uses a parameter name twice.

    Also a ``ValueError``, the type Starlette raises for this mistake.
    """


@dataclass(frozen=True, slots=True)
class CompiledPath:
    """What a route path compiles to.

    Attributes:
        regex: Matches a whole path (or host) and captures the parameters.
        format: The path with ``{name}`` placeholders only (types dropped);
            what OpenAPI shows.
        convertors: Each parameter's convertor, by name.
    """

    regex: re.Pattern[str]
    format: str
    convertors: dict[str, Convertor[Any]]

    def match(self, text: str) -> dict[str, Any] | None:
        """The converted parameters when ``text`` matches, else ``None``."""
        found = self.regex.match(text)
        if found is None:
            return None
        convertors = self.convertors
        if not convertors:
            return {}  # a literal path: nothing to convert
        params: dict[str, Any] = found.groupdict()
        for name, value in params.items():  # values replaced in place: no new dict
            params[name] = convertors[name].convert(value)
        return params

    def __iter__(self) -> Iterator[Any]:
        """``regex, format, convertors``: unpacks as Starlette's ``compile_path`` tuple does."""
        return iter((self.regex, self.format, self.convertors))

    def build(self, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """Fill the parameters of this path that ``params`` has.

        Returns the path, where a parameter without a value keeps its
        ``{name}`` placeholder, and the params this path did not use.
        """
        return replace_params(self.format, self.convertors, params)


def compile_path(path: str) -> CompiledPath:
    """Compile a route path, or a host pattern when it does not start with ``/``.

    Raises:
        TrioAPIError: a parameter uses an unknown convertor.
        DuplicatedParamsError: a parameter name is used twice.
    """
    is_host = not path.startswith("/")
    regex = "^"
    path_format = ""
    convertors: dict[str, Convertor[Any]] = {}
    end = 0
    duplicated: set[str] = set()
    for found in _PARAM.finditer(path):
        name, type_suffix = found.group(1), found.group(2)
        type_name = type_suffix[1:] if type_suffix else "str"
        convertor = CONVERTOR_TYPES.get(type_name)
        if convertor is None:
            raise TrioAPIError(
                f"Path {path!r}: unknown convertor type {type_name!r} for parameter {name!r}. "
                f"Use one of {sorted(CONVERTOR_TYPES)} or register it with "
                f"register_url_convertor()."
            )
        if name in convertors:
            duplicated.add(name)
        literal = path[end : found.start()]
        regex += re.escape(literal) + f"(?P<{name}>{convertor.regex})"
        path_format += literal + "{" + name + "}"
        convertors[name] = convertor
        end = found.end()
    if duplicated:
        plural = "s" if len(duplicated) > 1 else ""
        raise DuplicatedParamsError(
            f"Duplicated param name{plural} {', '.join(sorted(duplicated))} at path {path}. "
            f"Give each parameter its own name."
        )
    tail = path[end:]
    if is_host:
        # A host pattern matches the host without its port; "[::1]" has no port.
        host_part, colon, port = tail.rpartition(":")
        if colon and port.isdigit() and (host_part.endswith("]") or "[" not in host_part):
            tail = host_part
    regex += re.escape(tail) + "$"
    path_format += path[end:]
    # Host names compare case-insensitively; paths do not.
    flags = re.IGNORECASE if is_host else 0
    return CompiledPath(re.compile(regex, flags), path_format, convertors)


def replace_params(
    path: str, param_convertors: dict[str, Convertor[Any]], path_params: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """Fill ``{name}`` placeholders of ``path`` that ``path_params`` has a value for.

    Each value goes through its convertor's ``to_string`` when there is one;
    a placeholder without a value stays. A value is never searched for
    placeholders itself, so ``"{id}"`` as a value stays as it is.
    Returns the path and the parameters that were not used.
    """
    remaining = dict(path_params)
    # split() puts the placeholder names at the odd indexes.
    parts = _PLACEHOLDER.split(path)
    for index in range(1, len(parts), 2):
        name = parts[index]
        if name not in remaining:
            parts[index] = "{" + name + "}"
            continue
        value = remaining.pop(name)
        convertor = param_convertors.get(name)
        parts[index] = convertor.to_string(value) if convertor is not None else str(value)
    return "".join(parts), remaining


def get_name(endpoint: Any) -> str:
    """The default route name of an endpoint: its ``__name__``, or its class name."""
    return getattr(endpoint, "__name__", type(endpoint).__name__)


def get_route_path(scope: Scope) -> str:
    """The part of ``scope["path"]`` a router matches: the path after ``root_path``.

    A mount leaves ``scope["path"]`` whole and adds its prefix to
    ``root_path``. A ``root_path`` the path does not start with was stripped
    by a proxy already, so the path is used as it is.
    """
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "")
    if not root_path or not path.startswith(root_path):
        return path
    if path == root_path:
        return ""
    if path[len(root_path)] == "/":
        return path[len(root_path) :]
    return path  # "/apiary" is not under the root path "/api"


def has_utf8_path(scope: Scope) -> bool:
    """Whether the request path's percent-escapes decode as UTF-8.

    Servers decode an invalid sequence (``/%ff``) to U+FFFD, which a route
    would then match as if the client had sent that character; the raw path
    tells the two apart. Only asked about paths with a U+FFFD in them.
    """
    raw_path: bytes | None = scope.get("raw_path")
    if raw_path is None:
        return True  # nothing to check against: the server's decoding stands
    try:
        unquote_to_bytes(raw_path.split(b"?", 1)[0]).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
