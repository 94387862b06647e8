"""The semantic-convention attributes of a server request, read from its ASGI scope."""

from __future__ import annotations

import re
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


# A Host header: a name or a bracketed IPv6 address, then an optional port;
# anything else (user info, a path, an empty value) says nothing trustworthy.
_HOST = re.compile(r"(?:\[([0-9A-Fa-f:.]+)\]|([^\[\]:/@?#\s]+))(?::([0-9]{1,5}))?")
_DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}


def server_authority(scope: Scope) -> dict[str, Any]:
    """``server.address`` / ``server.port`` from the Host header (else the ASGI ``server``)."""
    host = None
    for name, value in scope.get("headers", ()):
        if name == b"host":
            host = value.decode("latin-1")
            break
    if host is None:
        server = scope.get("server")
        if not server:
            return {}
        found = {"server.address": server[0]}
        if server[1] is not None:
            found["server.port"] = server[1]
        return found
    match = _HOST.fullmatch(host)
    if match is None:
        return {}
    address = match[1] or match[2]
    port = int(match[3]) if match[3] else _DEFAULT_PORTS.get(scope.get("scheme", "http"))
    if port is None:
        return {"server.address": address}
    if port > 65535:
        return {}
    return {"server.address": address, "server.port": port}


def connection_attributes(scope: Scope) -> dict[str, Any]:
    """The attributes a request and a WebSocket connection share, known before the app runs."""
    default_scheme = "http" if scope["type"] == "http" else "ws"
    attributes: dict[str, Any] = {
        "url.scheme": scope.get("scheme", default_scheme),
        "url.path": scope["path"],  # the full path: it includes root_path in ASGI
    }
    client = scope.get("client")
    if client:
        attributes["client.address"] = client[0]
    attributes.update(server_authority(scope))
    return attributes


def request_attributes(scope: Scope, method: str) -> dict[str, Any]:
    """The server span's attributes known before the app runs; ``method`` as normalized."""
    attributes = connection_attributes(scope)
    # Only requests record their query: a WebSocket's may carry what its
    # messages would (FastAPI leaves it out too).
    query = scope.get("query_string", b"")
    if query:
        attributes["url.query"] = redact_query(query.decode("latin-1"))
    attributes["http.request.method"] = method
    original = scope.get("method", "GET")
    if method != original:
        attributes["http.request.method_original"] = original
    version = scope.get("http_version")
    if version:
        attributes["network.protocol.version"] = version
    return attributes


class HeaderGetter(Getter[Iterable[tuple[bytes, bytes]]]):
    """Reads propagation headers (``traceparent``, ``baggage``...) from ASGI headers.

    A repeated header gives all its values, in order, as OpenTelemetry's
    propagators expect (``baggage``'s joined into one, as its propagator
    reads only the first).
    """

    def get(self, carrier: Iterable[tuple[bytes, bytes]], key: str) -> list[str] | None:
        """All values of header ``key`` (any case), or ``None`` when it is absent."""
        wanted = key.lower().encode("latin-1")
        values = [value.decode("latin-1") for name, value in carrier if name.lower() == wanted]
        if not values:
            return None
        if wanted == b"baggage":
            # The W3C baggage propagator reads only the first value: give it all of them.
            return [",".join(values)]
        return values

    def keys(self, carrier: Iterable[tuple[bytes, bytes]]) -> list[str]:
        """The header names, lower-case."""
        return [name.decode("latin-1").lower() for name, _ in carrier]


HEADER_GETTER = HeaderGetter()
