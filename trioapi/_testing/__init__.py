"""Machinery behind trioapi.testclient and trioapi.testing.

Both are built on an httpx client library, an optional dependency (the
``testclient`` extra). As Starlette 1.10's test client does, ``httpx2`` is
used when it is installed (its responses and errors are then the ones tests
see), else ``httpx``; importing either client without one says how to
install it, as Starlette's does.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx as httpx  # the two share one API; the type checker sees httpx
else:
    try:
        import httpx2 as httpx  # re-exported: the test clients import it from here
    except ModuleNotFoundError:
        try:
            import httpx as httpx
        except ModuleNotFoundError as exc:  # pragma: no cover - exercised in a subprocess
            raise ImportError(
                "trioapi.testclient and trioapi.testing need httpx, which is not installed. "
                "Install it with: pip install 'trioapi[testclient]' (or pip install httpx)."
            ) from exc
