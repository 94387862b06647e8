"""Machinery behind trioapi.testclient and trioapi.testing.

Both are built on httpx, an optional dependency (the ``testclient`` extra);
importing either without it says how to install it, as Starlette's does.
"""

try:
    import httpx as httpx  # re-exported: the test clients import it from here
except ModuleNotFoundError as exc:  # pragma: no cover - exercised in a subprocess
    raise ImportError(
        "trioapi.testclient and trioapi.testing need httpx, which is not installed. "
        "Install it with: pip install 'trioapi[testclient]' (or pip install httpx)."
    ) from exc
