"""``ProxyHeadersMiddleware``: believe ``X-Forwarded-*`` headers from trusted proxies only.

Behind a reverse proxy the connection comes from the proxy, so the scheme,
the client address and the host the client asked for reach the app only in
the headers the proxy adds. Anyone can send those headers, so they are read
only when the connection comes from an address listed as trusted, as
uvicorn's middleware of the same name does (``trioapi run`` installs it;
``--forwarded-allow-ips`` lists the proxies).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from trioapi.exceptions import TrioAPIError
from trioapi.types import ASGIApp, Receive, Scope, Send

__all__ = ["ProxyHeadersMiddleware"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class ProxyHeadersMiddleware:
    """Take the scheme, client and host from ``X-Forwarded-Proto``/``-For``/``-Host``.

    Only when the connection's peer is trusted. ``X-Forwarded-For`` is read
    from the right: the client is the first address that is not itself a
    trusted proxy (so a client cannot forge the address by sending the
    header itself).

    Args:
        app: the ASGI app to wrap.
        trusted_hosts: addresses or networks (``"10.0.0.0/8"``) of the
            proxies, as a list or one comma-separated string; ``"*"`` trusts
            every peer (only when nothing else can reach the server).
            Default ``"127.0.0.1"``.

    Raises:
        TrioAPIError: an entry is neither ``*``, an IP address nor a network.
    """

    def __init__(self, app: ASGIApp, trusted_hosts: Sequence[str] | str = "127.0.0.1") -> None:
        self.app = app
        entries = trusted_hosts.split(",") if isinstance(trusted_hosts, str) else trusted_hosts
        names = [entry.strip() for entry in entries if entry.strip()]
        self.always_trust = "*" in names
        self.networks: list[Network] = [] if self.always_trust else _networks(names)

    def is_trusted(self, host: str | None) -> bool:
        """Whether a peer at ``host`` may set the forwarded headers."""
        if self.always_trust:
            return True
        if not host:
            return False
        try:
            address = ipaddress.ip_address(host)
        except ValueError:  # a Unix socket path or a name: never a listed proxy
            return False
        return any(address in network for network in self.networks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Rewrite ``scheme``, ``client`` and the ``host`` header from a trusted proxy's headers."""
        if scope["type"] in ("http", "websocket"):
            client = scope.get("client")
            if self.is_trusted(client[0] if client else None):
                self._apply(scope)
        await self.app(scope, receive, send)

    def _apply(self, scope: Scope) -> None:
        headers: dict[bytes, str] = {}
        for name, value in scope.get("headers", ()):
            if name in (b"x-forwarded-proto", b"x-forwarded-for", b"x-forwarded-host"):
                # Several headers of one name join as a proxy would fold them.
                text = value.decode("latin-1")
                headers[name] = f"{headers[name]},{text}" if name in headers else text
        if proto := headers.get(b"x-forwarded-proto"):
            scheme = proto.split(",")[-1].strip().lower()
            if scheme in ("http", "https", "ws", "wss"):
                if scope["type"] == "websocket":
                    scheme = "wss" if scheme in ("https", "wss") else "ws"
                scope["scheme"] = scheme
        forwarded_for = headers.get(b"x-forwarded-for", "")
        if (host := self._client_from(forwarded_for)) is not None:
            scope["client"] = (host, 0)
        if forwarded_host := headers.get(b"x-forwarded-host"):
            host_value = forwarded_host.split(",")[-1].strip().encode("latin-1")
            others = [(n, v) for n, v in scope.get("headers", ()) if n != b"host"]
            scope["headers"] = [(b"host", host_value), *others]

    def _client_from(self, forwarded_for: str) -> str | None:
        hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
        for hop in reversed(hops):
            if not self.is_trusted(hop):
                return hop
        return hops[0] if hops else None


def _networks(names: Sequence[str]) -> list[Network]:
    networks = []
    for name in names:
        try:
            networks.append(ipaddress.ip_network(name, strict=False))
        except ValueError:
            raise TrioAPIError(
                f"ProxyHeadersMiddleware: trusted host {name!r} is not an IP address or network. "
                "List proxies as addresses or networks (e.g. '10.0.0.1', '10.0.0.0/8'), or '*'."
            ) from None
    return networks
