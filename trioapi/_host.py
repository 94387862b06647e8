"""Reading the ``Host`` header: a host name or IP literal and an optional port, nothing else.

A ``Host`` value is ``uri-host [":" port]`` (RFC 9110 §7.2): no userinfo, path,
query or fragment. Values such as ``127.0.0.1@evil.example`` or
``evil.example/x?`` would otherwise change the authority or the path of the
URL rebuilt from them (``request.url``, ``url_for``, redirects), so everything
that reads the header goes through :func:`parse_host` and treats a value it
refuses as absent, as Starlette does.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from typing import NamedTuple

__all__ = ["HostHeader", "host_header", "parse_host"]

# A registered name (letters, digits, '-', '.', '_') or a bracketed IPv6
# literal, then an optional port of up to five digits.
_HOST = re.compile(r"(?:([a-z0-9_.-]+)|\[([0-9a-f:.]+)\])(?::([0-9]{1,5}))?", re.IGNORECASE)


class HostHeader(NamedTuple):
    """A valid ``Host`` value: ``host`` (IPv6 in brackets), ``port`` (``None`` if absent), ``value``."""

    host: str
    port: int | None
    value: str

    @property
    def hostname(self) -> str:
        """The host in lower case, without brackets (what host names are compared as)."""
        return self.host.strip("[]").lower()


def parse_host(value: str) -> HostHeader | None:
    """The host and port of a ``Host`` header value, or ``None`` when it is not one."""
    found = _HOST.fullmatch(value)
    if found is None:
        return None
    name, ipv6, port = found.groups()
    if ipv6 is not None:
        try:
            ipaddress.IPv6Address(ipv6)
        except ValueError:
            return None
        name = f"[{ipv6}]"
    port_number = None if port is None else int(port)
    if port_number is not None and port_number > 65535:
        return None
    return HostHeader(name, port_number, value)


def host_header(headers: Iterable[tuple[bytes, bytes]]) -> HostHeader | None:
    """The first ``Host`` header of raw ASGI ``headers``, if it is valid."""
    for key, raw in headers:
        if key == b"host":
            return parse_host(raw.decode("latin-1"))
    return None
