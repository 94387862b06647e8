"""``Headers`` and ``MutableHeaders``: case-insensitive, multi-valued HTTP headers.

Public through ``trioapi.datastructures``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, TypeVar, overload

from trioapi.types import HeaderList, Scope

if TYPE_CHECKING:
    from typing import Self

__all__ = ["Headers", "MutableHeaders"]

_T = TypeVar("_T")

_FORBIDDEN_HEADER_CHARS = frozenset(b"\r\n\x00")


def _encode_header(text: str, what: str) -> bytes:
    data = text.encode("latin-1")
    # A CR or LF would let a value start a new header line (response splitting).
    if _FORBIDDEN_HEADER_CHARS.intersection(data):
        raise ValueError(
            f"Header {what} {text!r} contains CR, LF or NUL, which would corrupt the "
            "message. Strip those characters before setting the header."
        )
    return data


# Lowered, encoded header names by the key an app looked them up with: an app
# asks for a handful of names, again and again. Bounded: keys may come from
# clients.
_KEYS: dict[str, bytes] = {}
_MAX_KEYS = 512


def _header_key(key: object) -> bytes | None:
    # Lookups with a key that cannot be a header name find nothing, not crash.
    if not isinstance(key, str):
        return None
    try:
        return _KEYS[key]
    except KeyError:
        pass
    try:
        name = key.lower().encode("latin-1")
    except UnicodeEncodeError:
        return None
    if len(_KEYS) < _MAX_KEYS and type(key) is str:
        _KEYS[key] = name
    return name


class Headers(Mapping[str, str]):
    """Case-insensitive, multi-valued, read-only HTTP headers.

    Built from one of: a ``headers`` mapping (checked for CR, LF and NUL), a
    ``raw`` list of lowercased byte pairs, or a ``scope`` (or message) whose
    ``"headers"`` list is then shared, so :class:`MutableHeaders` edits it in
    place. ``headers[key]`` gives the first value; :meth:`getlist` gives all.
    """

    def __init__(
        self,
        headers: Mapping[str, str] | None = None,
        raw: HeaderList | None = None,
        scope: Scope | None = None,
    ) -> None:
        if scope is not None and headers is None and raw is None:  # a request's, the most common
            # Servers may hand us a tuple; store a list back so edits are seen.
            self._list: HeaderList = list(scope.get("headers", ()))
            scope["headers"] = self._list
            return
        if (headers is not None) + (raw is not None) + (scope is not None) > 1:
            raise ValueError("Headers() takes only one of 'headers', 'raw' or 'scope'.")
        self._list = []
        if headers is not None:
            self._list = [
                (_encode_header(k.lower(), "name"), _encode_header(v, "value"))
                for k, v in headers.items()
            ]
        elif raw is not None:
            self._list = raw

    @property
    def raw(self) -> HeaderList:
        """The underlying ``(name, value)`` byte pairs."""
        return self._list

    def keys(self) -> list[str]:  # type: ignore[override]  # Starlette returns a list with repeats
        """Return every header name, repeated names included, in order."""
        return [key.decode("latin-1") for key, _ in self._list]

    def values(self) -> list[str]:  # type: ignore[override]  # as keys()
        """Return every header value, in order."""
        return [value.decode("latin-1") for _, value in self._list]

    def items(self) -> list[tuple[str, str]]:  # type: ignore[override]  # as keys()
        """Return every ``(name, value)`` pair, in order."""
        return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in self._list]

    def getlist(self, key: str) -> list[str]:
        """Return every value of header ``key``, in order (``[]`` if absent)."""
        wanted = _header_key(key)
        return [v.decode("latin-1") for k, v in self._list if k == wanted]

    def mutablecopy(self) -> MutableHeaders:
        """Return a :class:`MutableHeaders` holding a copy of these headers."""
        return MutableHeaders(raw=self._list[:])

    def __getitem__(self, key: str) -> str:
        wanted = _header_key(key)
        for header_key, header_value in self._list:
            if header_key == wanted:
                return header_value.decode("latin-1")
        raise KeyError(key)

    @overload
    def get(self, key: str, /) -> str | None: ...

    @overload
    def get(self, key: str, /, default: str | _T) -> str | _T: ...

    def get(self, key: str, default: object = None) -> object:
        """The first value of header ``key``, or ``default`` if absent."""
        # Mapping.get's answer, without its call of __getitem__ and the KeyError.
        wanted = _header_key(key)
        for header_key, header_value in self._list:
            if header_key == wanted:
                return header_value.decode("latin-1")
        return default

    def __contains__(self, key: object) -> bool:
        wanted = _header_key(key)
        return any(header_key == wanted for header_key, _ in self._list)

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self._list)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Headers):
            return False
        return sorted(self._list) == sorted(other._list)

    __hash__ = None  # type: ignore[assignment]  # MutableHeaders changes; Mapping is unhashable too

    def __repr__(self) -> str:
        as_dict = dict(self.items())
        if len(as_dict) == len(self):
            return f"{type(self).__name__}({as_dict!r})"
        return f"{type(self).__name__}(raw={self.raw!r})"


class MutableHeaders(Headers):
    """Editable headers; edits change the raw list in place and reject CR, LF, NUL."""

    def __setitem__(self, key: str, value: str) -> None:
        """Set header ``key`` to a single value, keeping its first position."""
        name = _encode_header(key.lower(), "name")
        data = _encode_header(value, "value")
        found = [i for i, (k, _) in enumerate(self._list) if k == name]
        for index in reversed(found[1:]):
            del self._list[index]
        if found:
            self._list[found[0]] = (name, data)
        else:
            self._list.append((name, data))

    def __delitem__(self, key: str) -> None:
        """Remove every value of header ``key`` (no error if absent)."""
        wanted = _header_key(key)
        # Slice-assign so that a list shared with an ASGI message is edited.
        self._list[:] = [(k, v) for k, v in self._list if k != wanted]

    def __ior__(self, other: Mapping[str, str]) -> Self:
        if not isinstance(other, Mapping):
            return NotImplemented
        self.update(other)
        return self

    def __or__(self, other: Mapping[str, str]) -> MutableHeaders:
        if not isinstance(other, Mapping):
            return NotImplemented
        new = self.mutablecopy()
        new.update(other)
        return new

    def setdefault(self, key: str, value: str) -> str:
        """Return the first value of ``key``, appending ``value`` first if absent."""
        if key in self:
            return self[key]
        self.append(key, value)
        return value

    def update(self, other: Mapping[str, str]) -> None:
        """Set every header in ``other``, replacing existing values."""
        for key, value in other.items():
            self[key] = value

    def append(self, key: str, value: str) -> None:
        """Add a header, keeping any existing values of the same name."""
        name = _encode_header(key.lower(), "name")
        self._list.append((name, _encode_header(value, "value")))

    def add_vary_header(self, vary: str) -> None:
        """Add ``vary`` to the ``Vary`` header, after every existing value.

        Several ``Vary`` lines become one, their values joined in order.
        """
        self["vary"] = ", ".join([*self.getlist("vary"), vary])
