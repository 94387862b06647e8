"""Settings from the environment and ``.env`` files: ``Config``, ``Environ``.

```python
config = Config(".env")
DEBUG = config("DEBUG", cast=bool, default=False)
DATABASE_URL = config("DATABASE_URL", cast=URL)
SECRET_KEY = config("SECRET_KEY", cast=Secret)
```

A value set in the process environment wins over the file; the file wins
over the default. Values are read when asked for, so a test can set
``environ[...]`` before the module that reads it is imported, and
:class:`Environ` refuses to change a key once it has been read (that change
would come too late to matter).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from pathlib import Path
from typing import Any, TypeVar, overload

__all__ = ["Config", "Environ", "EnvironError", "environ", "undefined"]

T = TypeVar("T")

# Only these spellings are booleans: "yes" or "" would more likely be a typo.
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


class undefined:  # Starlette's public name for "no default given"
    """The marker for "no default": ``Config.get`` raises ``KeyError`` instead."""


class EnvironError(Exception):
    """An environment variable was changed after the application had read it."""


class Environ(MutableMapping[str, str]):
    """``os.environ`` (or another mapping) that refuses changes to keys already read.

    Args:
        environ: the mapping to wrap.
    """

    def __init__(self, environ: MutableMapping[str, str] = os.environ) -> None:
        self._environ = environ
        self._has_been_read: set[str] = set()

    def __getitem__(self, key: str) -> str:
        """Read ``key``, remembering that it was read."""
        self._has_been_read.add(key)
        return self._environ[key]

    def __setitem__(self, key: str, value: str) -> None:
        """Set ``key``; raises ``EnvironError`` if it has been read already."""
        self._refuse_if_read("set", key)
        self._environ[key] = value

    def __delitem__(self, key: str) -> None:
        """Delete ``key``; raises ``EnvironError`` if it has been read already."""
        self._refuse_if_read("delete", key)
        del self._environ[key]

    def __iter__(self) -> Iterator[str]:
        """Iterate over the keys of the wrapped mapping."""
        return iter(self._environ)

    def __len__(self) -> int:
        """How many keys the wrapped mapping has."""
        return len(self._environ)

    def _refuse_if_read(self, action: str, key: str) -> None:
        if key in self._has_been_read:
            raise EnvironError(
                f"Attempting to {action} environ['{key}'], but the value has already been read. "
                "Change it before the code that reads it runs (say, at the top of conftest.py)."
            )


#: The process environment, as :class:`Config` reads it by default.
environ = Environ()


class Config:
    """Typed settings read from the environment, then from a ``.env`` file.

    The file holds ``KEY=value`` lines; blank lines and ``#`` comments are
    skipped, and one pair of matching quotes around a value is removed.

    Args:
        env_file: the ``.env`` file; a missing file only warns.
        environ: the environment mapping (default: the process environment).
        env_prefix: prepended to every key looked up (``"APP_"``).
        encoding: the file's encoding.
    """

    def __init__(
        self,
        env_file: str | Path | None = None,
        environ: Mapping[str, str] = environ,
        env_prefix: str = "",
        encoding: str = "utf-8",
    ) -> None:
        self.environ = environ
        self.env_prefix = env_prefix
        self.file_values: dict[str, str] = {}
        if env_file is not None:
            if os.path.isfile(env_file):
                self.file_values = _read_env_file(env_file, encoding)
            else:
                warnings.warn(f"Config file '{env_file}' not found.", stacklevel=2)

    @overload
    def __call__(self, key: str, *, default: None) -> str | None: ...
    @overload
    def __call__(self, key: str, cast: type[T], default: T = ...) -> T: ...
    @overload
    def __call__(self, key: str, cast: type[str] = ..., default: str = ...) -> str: ...
    @overload
    def __call__(self, key: str, cast: Callable[[Any], T] = ..., default: Any = ...) -> T: ...
    @overload
    def __call__(self, key: str, cast: type[str] = ..., default: T = ...) -> T | str: ...

    def __call__(
        self, key: str, cast: Callable[[Any], Any] | None = None, default: Any = undefined
    ) -> Any:
        """The same as :meth:`get`."""
        return self.get(key, cast, default)

    def get(
        self, key: str, cast: Callable[[Any], Any] | None = None, default: Any = undefined
    ) -> Any:
        """The value of ``env_prefix + key``, passed through ``cast``.

        Args:
            key: the setting's name, without the prefix.
            cast: a callable applied to the value (``int``, ``URL``, ``Secret``...);
                ``bool`` accepts ``true``/``false``/``1``/``0`` in any case.
            default: used (and cast too, unless ``None``) when the key is nowhere.

        Raises:
            KeyError: the key is missing and has no default.
            ValueError: ``cast`` refused the value.
        """
        key = self.env_prefix + key
        if key in self.environ:
            return _cast(key, self.environ[key], cast)
        if key in self.file_values:
            return _cast(key, self.file_values[key], cast)
        if default is not undefined:
            return _cast(key, default, cast)
        raise KeyError(f"Config '{key}' is missing, and has no default.")


def _read_env_file(path: str | Path, encoding: str) -> dict[str, str]:
    values: dict[str, str] = {}
    with open(path, encoding=encoding) as file:
        for raw_line in file:
            line = raw_line.strip()
            if line.startswith("#") or "=" not in line:
                continue
            key, value = (part.strip() for part in line.split("=", 1))
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            values[key] = value
    return values


def _cast(key: str, value: Any, cast: Callable[[Any], Any] | None) -> Any:
    if cast is None or value is None:
        return value
    if cast is bool and isinstance(value, str):
        lowered = value.lower()
        if lowered not in _BOOLEANS:
            raise ValueError(f"Config '{key}' has value '{lowered}'. Not a valid bool.")
        return _BOOLEANS[lowered]
    try:
        return cast(value)
    except (TypeError, ValueError):
        name = getattr(cast, "__name__", repr(cast))
        raise ValueError(f"Config '{key}' has value '{value}'. Not a valid {name}.") from None
