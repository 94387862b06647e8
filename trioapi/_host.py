"""Reading the ``Host`` header: a host name or IP literal and an optional port, nothing else.

A ``Host`` value is ``uri-host [":" port]`` (RFC 9110 §7.2): no userinfo, path,
query or fragment. Values such as ``127.0.0.1@evil.example`` or
``evil.example/x?`` would otherwise change the authority or the path of the
URL rebuilt from them (``request.url``, ``url_for``, redirects), so everything
that reads the header goes through :func:`parse_host` and treats a value it
refuses as absent, as Starlette 1.x does.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from typing import NamedTuple

__all__ = ["HostHeader", "host_header", "parse_host"]

# A registered name (RFC 3986 unreserved, sub-delims and '%'), or an IP
# literal in brackets: IPv6 (checked below) or IPvFuture (a lower-case "v");
# then an optional port, any number of digits (see HostHeader.has_valid_port).
_HOST = re.compile(
    r"(?P<host>[a-z0-9._~%!$&'()*+,;=-]+"
    r"|\[(?:(?P<ipv6>[0-9a-f]*:[0-9a-f.:]+)|(?-i:v)[0-9a-f]+\.[a-z0-9._~!$&'()*+,;=:-]+)\])"
    r"(?::(?P<port>[0-9]+))?",
    re.IGNORECASE,
)


class HostHeader(NamedTuple):
    """A valid ``Host`` value: ``host`` (an IP literal in brackets), ``port`` digits, ``value``."""

    host: str
    port: str | None
    value: str

    @property
    def hostname(self) -> str:
        """The host in lower case, without brackets (what host names are compared as)."""
        return self.host.strip("[]").lower()

    @property
    def has_valid_port(self) -> bool:
        """Whether the port, if any, is at most 65535 (leading zeros allowed, as in ``:000080``)."""
        if self.port is None:
            return True
        digits = self.port.lstrip("0")
        return len(digits) <= 5 and int(digits or "0") <= 65535


def parse_host(value: str) -> HostHeader | None:
    """The host and port of a ``Host`` header value, or ``None`` when it is not one.

    The port is not range-checked here: host matching ignores the port, and
    :class:`~trioapi.datastructures.URL` checks :attr:`HostHeader.has_valid_port`.
    """
    found = _HOST.fullmatch(value)
    if found is None:
        return None
    ipv6 = found["ipv6"]
    if ipv6 is not None:
        try:
            ipaddress.IPv6Address(ipv6)
        except ValueError:
            return None
    return HostHeader(found["host"], found["port"], value)


def host_header(headers: Iterable[tuple[bytes, bytes]]) -> HostHeader | None:
    """The first ``Host`` header of raw ASGI ``headers``, if it is valid."""
    for key, raw in headers:
        if key == b"host":
            return parse_host(raw.decode("latin-1"))
    return None
