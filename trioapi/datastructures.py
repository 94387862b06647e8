"""Request and response data structures: URLs, headers, query strings, forms.

Names and behaviour follow ``starlette.datastructures`` (plus FastAPI's
``Default``). Toolkit layer: pydantic is imported only when it asks for a schema.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeAlias, TypeVar
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit, urlunsplit

import trio

from trioapi._headers import Headers, MutableHeaders
from trioapi._host import host_header
from trioapi._uploads import UploadFile
from trioapi.types import Scope

if TYPE_CHECKING:
    from typing import Self


__all__ = [
    "URL",
    "Address",
    "CommaSeparatedStrings",
    "Default",
    "DefaultPlaceholder",
    "FormData",
    "Headers",
    "ImmutableMultiDict",
    "MultiDict",
    "MutableHeaders",
    "QueryParams",
    "Secret",
    "State",
    "URLPath",
    "UploadFile",
]

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")
DefaultType = TypeVar("DefaultType")

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


class Address(NamedTuple):
    """A ``(host, port)`` pair, as found in ``scope["client"]``."""

    host: str
    port: int


def _url_from_scope(scope: Scope) -> str:
    scheme: str = scope.get("scheme", "http")
    server = scope.get("server")
    # ASGI: the path already includes root_path, and is percent-decoded: a
    # "?" or "#" in it (sent as %3F, %23) is quoted again so it stays path.
    path: str = scope["path"]
    if "?" in path or "#" in path or "\\" in path:
        # A backslash too: browsers read it as "/", so "/\\evil" would be "//evil".
        path = path.replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")
    query = scope.get("query_string", b"").decode("latin-1").replace("#", "%23")
    # The Host header is what the client asked for, where we listen is the
    # fallback; a Host value that is not a host (userinfo, a path, a bad
    # port) is ignored so it cannot change the URL's authority or path.
    host = host_header(scope.get("headers", ()))
    if host is not None and host.has_valid_port:
        netloc = host.value
    elif server is not None:
        server_host, port = server
        if ":" in server_host and not server_host.startswith("["):
            server_host = f"[{server_host}]"  # an IPv6 address
        netloc = server_host if port == _DEFAULT_PORTS.get(scheme) else f"{server_host}:{port}"
    else:
        # No authority at all: a path starting with "//" must not read as one.
        if path.startswith("//"):
            path = "/%2F" + path[2:]
        return f"{path}?{query}" if query else path
    # urlunsplit puts a "/" before a path that has none ("*", an absolute-form
    # target), so the path never runs into the authority.
    return str(urlunsplit((scheme, netloc, path, query, "")))


class _SplitPart(Generic[T]):
    """A read-only URL attribute taken from ``URL.components``."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, url: URL, owner: type[URL]) -> T:
        value: T = getattr(url.components, self.name)
        return value


class URL:
    """An immutable URL, from a string, an ASGI ``scope``, or ``urlsplit`` components."""

    def __init__(self, url: str = "", scope: Scope | None = None, **components: Any) -> None:
        if scope is not None:
            if url or components:
                raise ValueError("URL() takes either 'url', 'scope' or components, not several.")
            url = _url_from_scope(scope)
        elif components:
            if url:
                raise ValueError("URL() takes either 'url' or components, not both.")
            url = URL("").replace(**components).components.geturl()
        self._url = url
        self._components: SplitResult | None = None

    @property
    def components(self) -> SplitResult:
        """The parsed URL, as returned by :func:`urllib.parse.urlsplit`."""
        if self._components is None:
            self._components = urlsplit(self._url)
        return self._components

    # The urlsplit parts, read straight from ``components``.
    scheme: _SplitPart[str] = _SplitPart("scheme")
    netloc: _SplitPart[str] = _SplitPart("netloc")
    path: _SplitPart[str] = _SplitPart("path")
    query: _SplitPart[str] = _SplitPart("query")
    fragment: _SplitPart[str] = _SplitPart("fragment")
    username: _SplitPart[str | None] = _SplitPart("username")
    password: _SplitPart[str | None] = _SplitPart("password")
    hostname: _SplitPart[str | None] = _SplitPart("hostname")
    port: _SplitPart[int | None] = _SplitPart("port")

    @property
    def is_secure(self) -> bool:
        """Whether the scheme is ``https`` or ``wss``."""
        return self.scheme in ("https", "wss")

    def replace(self, **kwargs: Any) -> URL:
        """Return a copy with some components replaced.

        Besides the ``urlsplit`` fields this accepts ``hostname``, ``port``,
        ``username`` and ``password``, and rebuilds the netloc from them.
        """
        netloc_parts = ("username", "password", "hostname", "port")
        if any(part in kwargs for part in netloc_parts):
            kwargs["netloc"] = self._build_netloc(
                hostname=kwargs.pop("hostname", None),
                port=kwargs.pop("port", self.port),
                username=kwargs.pop("username", self.username),
                password=kwargs.pop("password", self.password),
            )
        return URL(self.components._replace(**kwargs).geturl())

    def _build_netloc(
        self, hostname: str | None, port: int | None, username: str | None, password: str | None
    ) -> str:
        if hostname is None:
            hostname = self.netloc.rpartition("@")[2]
            # Keep an IPv6 literal such as "[::1]" whole when dropping the port.
            if not hostname.endswith("]"):
                hostname = hostname.rsplit(":", 1)[0]
        if hostname.count(":") > 1 and not hostname.startswith("["):
            # An IPv6 address, as .hostname gives it; one colon is a "host:port".
            hostname = f"[{hostname}]"
        netloc = hostname if port is None else f"{hostname}:{port}"
        if username is not None:
            userinfo = username if password is None else f"{username}:{password}"
            netloc = f"{userinfo}@{netloc}"
        return netloc

    def include_query_params(self, **kwargs: Any) -> URL:
        """Return a copy with the given query parameters set (replacing old values)."""
        params: MultiDict[str, str] = MultiDict(parse_qsl(self.query, keep_blank_values=True))
        params.update({str(key): str(value) for key, value in kwargs.items()})
        return self.replace(query=urlencode(params.multi_items()))

    def replace_query_params(self, **kwargs: Any) -> URL:
        """Return a copy whose query string holds exactly the given parameters."""
        return self.replace(query=urlencode([(str(k), str(v)) for k, v in kwargs.items()]))

    def remove_query_params(self, keys: str | Sequence[str]) -> URL:
        """Return a copy without the given query parameters."""
        if isinstance(keys, str):
            keys = [keys]
        params: MultiDict[str, str] = MultiDict(parse_qsl(self.query, keep_blank_values=True))
        for key in keys:
            params.pop(key, None)
        return self.replace(query=urlencode(params.multi_items()))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str | URL):
            return str(self) == str(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._url)

    def __str__(self) -> str:
        return self._url

    def __repr__(self) -> str:
        url = str(self.replace(password="********")) if self.password else self._url
        return f"{type(self).__name__}({url!r})"


class URLPath(str):
    """A ``url_path_for`` path with its ``protocol`` ("http", "websocket", "") and ``host``."""

    protocol: str
    host: str

    def __new__(cls, path: str, protocol: str = "", host: str = "") -> Self:
        if protocol not in ("http", "websocket", ""):
            raise ValueError(f"URLPath protocol must be 'http', 'websocket' or '': {protocol!r}")
        # Browsers read a backslash as "/", and a leading "//" starts an authority: a
        # path value of "//evil.example" must not become a link to another host.
        path = path.replace("\\", "%5C")
        if path.startswith("//"):
            path = "/%2F" + path[2:]
        return str.__new__(cls, path)

    def __init__(self, path: str, protocol: str = "", host: str = "") -> None:
        self.protocol = protocol
        self.host = host

    def make_absolute_url(self, base_url: str | URL) -> URL:
        """Join this path onto ``base_url``, picking ``ws``/``wss`` for websockets."""
        if isinstance(base_url, str):
            base_url = URL(base_url)
        if self.protocol == "http":
            scheme = "https" if base_url.is_secure else "http"
        elif self.protocol == "websocket":
            scheme = "wss" if base_url.is_secure else "ws"
        else:
            scheme = base_url.scheme
        netloc = self.host or base_url.netloc
        path = base_url.path.rstrip("/") + str(self)
        return URL(scheme=scheme, netloc=netloc, path=path)


class Secret:
    """A string kept out of logs: ``repr()`` hides the value, ``str()`` reveals it."""

    def __init__(self, value: str) -> None:
        self._value = value

    def __repr__(self) -> str:
        return f"{type(self).__name__}('**********')"

    def __str__(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)


class CommaSeparatedStrings(list[str]):
    """A list of strings parsed from ``"a, b, 'c, d'"`` (shell-style quoting)."""

    def __init__(self, value: str | Sequence[str]) -> None:
        if isinstance(value, str):
            splitter = shlex.shlex(value, posix=True)
            splitter.whitespace = ","
            splitter.whitespace_split = True
            value = [item.strip() for item in splitter]
        super().__init__(value)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list(self)!r})"

    def __str__(self) -> str:
        return ", ".join(repr(item) for item in self)


def _same_items(left: list[tuple[Any, Any]], right: list[tuple[Any, Any]]) -> bool:
    # The keys may come in any order, but each key's values must come in the
    # same order (Starlette's equality); values need not be sortable or
    # hashable (forms mix str and UploadFile).
    return _values_by_key(left) == _values_by_key(right)


def _values_by_key(items: list[tuple[Any, Any]]) -> dict[Any, list[Any]]:
    grouped: dict[Any, list[Any]] = {}
    for key, value in items:
        grouped.setdefault(key, []).append(value)
    return grouped


_MultiSource: TypeAlias = "ImmutableMultiDict[K, V] | Mapping[K, V] | Iterable[tuple[K, V]]"


class ImmutableMultiDict(Mapping[K, V]):
    """A read-only mapping holding several values per key, in order.

    Built from one mapping, multidict or iterable of pairs, plus keyword items.
    ``d[key]`` gives the last value for ``key``; :meth:`getlist` gives all.
    """

    def __init__(self, *args: _MultiSource[K, V], **kwargs: Any) -> None:
        if len(args) > 1:
            raise TypeError(f"{type(self).__name__}() takes at most 1 positional argument.")
        source = args[0] if args else []
        if isinstance(source, ImmutableMultiDict):
            items = source.multi_items()
        else:
            items = list(source.items() if isinstance(source, Mapping) else source)
        items.extend(kwargs.items())
        self._list: list[tuple[K, V]] = items
        self._dict: dict[K, V] = dict(items)

    def getlist(self, key: Any) -> list[V]:
        """Return every value for ``key``, in order (``[]`` if absent)."""
        return [item_value for item_key, item_value in self._list if item_key == key]

    def multi_items(self) -> list[tuple[K, V]]:
        """Return every ``(key, value)`` pair, duplicates included, in order."""
        return list(self._list)

    def __getitem__(self, key: K) -> V:
        return self._dict[key]

    def __contains__(self, key: object) -> bool:
        return key in self._dict

    def __iter__(self) -> Iterator[K]:
        return iter(self._dict)

    def __len__(self) -> int:
        return len(self._dict)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, type(self)):
            return False
        return _same_items(self._list, other._list)

    __hash__ = None  # type: ignore[assignment]  # mutable subclasses; Mapping is unhashable too

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.multi_items()!r})"


class MultiDict(ImmutableMultiDict[K, V]):
    """A mutable :class:`ImmutableMultiDict`."""

    def _drop(self, key: Any) -> None:
        self._list = [(k, v) for k, v in self._list if k != key]

    def __setitem__(self, key: K, value: V) -> None:
        self.setlist(key, [value])

    def __delitem__(self, key: K) -> None:
        self._drop(key)
        del self._dict[key]

    def pop(self, key: K, default: Any = None) -> Any:
        """Remove every value for ``key``; return the last one, or ``default``."""
        self._drop(key)
        return self._dict.pop(key, default)

    def popitem(self) -> tuple[K, V]:
        """Remove one key with all its values; return it with its last value."""
        key, value = self._dict.popitem()
        self._drop(key)
        return key, value

    def poplist(self, key: K) -> list[V]:
        """Remove every value for ``key`` and return them in order."""
        values = self.getlist(key)
        self.pop(key)
        return values

    def clear(self) -> None:
        """Remove everything."""
        self._dict.clear()
        self._list.clear()

    def setdefault(self, key: K, default: V) -> V:
        """Return the value for ``key``, adding ``default`` first if absent."""
        if key not in self:
            self._dict[key] = default
            self._list.append((key, default))
        return self[key]

    def setlist(self, key: K, values: list[V]) -> None:
        """Replace every value for ``key`` with ``values`` (removes it if empty)."""
        if not values:
            self.pop(key, None)
            return
        self._drop(key)
        self._list.extend((key, value) for value in values)
        self._dict[key] = values[-1]

    def append(self, key: K, value: V) -> None:
        """Add one more value for ``key``."""
        self._list.append((key, value))
        self._dict[key] = value

    def update(self, *args: _MultiSource[K, V], **kwargs: Any) -> None:
        """Replace the values of every key present in the arguments."""
        new: MultiDict[K, V] = MultiDict(*args, **kwargs)
        self._list = [(k, v) for k, v in self._list if k not in new._dict]
        self._list.extend(new.multi_items())
        self._dict.update(new._dict)


def _parse_query(query: str) -> list[tuple[str, str]]:
    """``parse_qsl(query, keep_blank_values=True)``, without its work when nothing is escaped."""
    if "%" in query or "+" in query:
        return parse_qsl(query, keep_blank_values=True)
    # What parse_qsl does for such a string: empty fields skipped, a field
    # without "=" has the empty value.
    pairs: list[tuple[str, str]] = []
    for field in query.split("&"):
        if field:
            name, _, value = field.partition("=")
            pairs.append((name, value))
    return pairs


class QueryParams(ImmutableMultiDict[str, str]):
    """Query parameters, from a query string (``str``/``bytes``) or any multidict source."""

    def __init__(self, *args: _MultiSource[Any, Any] | str | bytes, **kwargs: Any) -> None:
        source = args[0] if args else []
        if isinstance(source, bytes):
            # Query strings arrive as bytes in the scope; latin-1 maps each byte
            # to one char, and parse_qsl then decodes %-escapes as UTF-8.
            source = source.decode("latin-1")
        if isinstance(source, str):
            source = _parse_query(source)
            if not kwargs:
                # Every request's query string: parse_qsl gives str pairs, so the
                # general path's copies and str() conversions change nothing.
                self._list = source
                self._dict = dict(source)
                return
        super().__init__(*([source] if args else []), **kwargs)
        self._list = [(str(k), str(v)) for k, v in self._list]
        self._dict = {str(k): str(v) for k, v in self._dict.items()}

    def __str__(self) -> str:
        return urlencode(self._list)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class FormData(ImmutableMultiDict[str, "UploadFile | str"]):
    """Parsed form fields: strings, and :class:`UploadFile` for file parts."""

    async def close(self) -> None:
        """Close every uploaded file. A checkpoint (one per file, at least one)."""
        files = [value for _, value in self.multi_items() if isinstance(value, UploadFile)]
        if not files:
            await trio.lowlevel.checkpoint()
        for upload in files:
            await upload.close()


class State:
    """An object whose attributes live in a dict (shared, not copied), as ``app.state``."""

    _state: dict[str, Any]

    def __init__(self, state: dict[str, Any] | None = None) -> None:
        # Bypass our own __setattr__, which would store "_state" inside _state.
        super().__setattr__("_state", {} if state is None else state)

    def __setattr__(self, key: str, value: Any) -> None:
        self._state[key] = value

    def __getattr__(self, key: str) -> Any:
        # Read through __dict__: during unpickling _state may not exist yet,
        # and self._state would recurse into this method.
        state: dict[str, Any] = self.__dict__.get("_state", {})
        try:
            return state[key]
        except KeyError:
            message = f"'{type(self).__name__}' object has no attribute '{key}'"
            raise AttributeError(message) from None

    def __delattr__(self, key: str) -> None:
        try:
            del self._state[key]
        except KeyError:
            message = f"'{type(self).__name__}' object has no attribute '{key}'"
            raise AttributeError(message) from None

    # Item access too (Starlette 1.x): state["db"] is state.db.
    def __getitem__(self, key: str) -> Any:
        """``state[key]``: the value set as ``state.key`` or ``state[key]``."""
        return self._state[key]

    def __setitem__(self, key: str, value: Any) -> None:
        """``state[key] = value``."""
        self._state[key] = value

    def __delitem__(self, key: str) -> None:
        """``del state[key]``."""
        del self._state[key]

    def __iter__(self) -> Iterator[str]:
        """The names stored."""
        return iter(self._state)

    def __len__(self) -> int:
        """How many names are stored (an empty state is falsy, as a dict is)."""
        return len(self._state)


class DefaultPlaceholder:
    """Marks ``value`` as a default, so an explicitly given value can win over it."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __bool__(self) -> bool:
        return bool(self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DefaultPlaceholder) and other.value == self.value

    __hash__ = None  # type: ignore[assignment]  # the value may be unhashable

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.value!r})"


def Default(value: DefaultType) -> DefaultType:  # FastAPI's public name
    """Wrap ``value`` in a :class:`DefaultPlaceholder`.

    Typed as returning the value's own type, so ``x: int = Default(1)`` checks.
    """
    return DefaultPlaceholder(value)  # type: ignore[return-value]  # a placeholder on purpose
