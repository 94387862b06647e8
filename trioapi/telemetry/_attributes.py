"""The semantic-convention attributes of a server request, read from its ASGI scope."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode

from opentelemetry.propagators.textmap import Getter

from trioapi.types import Scope

# Query keys whose values carry credentials (the semantic conventions' list).
_SECRET_QUERY_KEYS = frozenset(
    {
        "AWSAccessKeyId",
        "Signature",
        "sig",
        "X-Goog-Signature",
        "X-Amz-Signature",
        "X-Amz-Credential",
        "X-Amz-Security-Token",
    }
)


def redact_query(query: str) -> str:
    """``query`` normalized (decoded, then form-encoded), credential values as ``REDACTED``.

    Normalizing means an escaped key (``%73ig``) is redacted too.
    """
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode(
        [(key, "REDACTED" if key in _SECRET_QUERY_KEYS else value) for key, value in pairs],
    )


def request_attributes(scope: Scope) -> dict[str, Any]:
    """The server span's attributes known before the app runs."""
    attributes: dict[str, Any] = {
        "http.request.method": scope.get("method", "GET"),
        "url.scheme": scope.get("scheme", "http"),
        "url.path": scope["path"],  # the full path: it includes root_path in ASGI
    }
    query = scope.get("query_string", b"")
    if query:
        attributes["url.query"] = redact_query(query.decode("latin-1"))
    version = scope.get("http_version")
    if version:
        attributes["network.protocol.version"] = version
    client = scope.get("client")
    if client:
        attributes["client.address"] = client[0]
    server = scope.get("server")
    if server:
        attributes["server.address"] = server[0]
        if server[1] is not None:
            attributes["server.port"] = server[1]
    return attributes


class HeaderGetter(Getter[Iterable[tuple[bytes, bytes]]]):
    """Reads propagation headers (``traceparent``, ``baggage``...) from ASGI headers.

    A repeated header gives all its values, in order, as OpenTelemetry's
    propagators expect.
    """

    def get(self, carrier: Iterable[tuple[bytes, bytes]], key: str) -> list[str] | None:
        """All values of header ``key`` (any case), or ``None`` when it is absent."""
        wanted = key.lower().encode("latin-1")
        values = [value.decode("latin-1") for name, value in carrier if name.lower() == wanted]
        return values or None

    def keys(self, carrier: Iterable[tuple[bytes, bytes]]) -> list[str]:
        """The header names, lower-case."""
        return [name.decode("latin-1").lower() for name, _ in carrier]


HEADER_GETTER = HeaderGetter()
