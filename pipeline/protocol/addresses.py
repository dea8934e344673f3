"""Which network addresses are public: the SSRF guard that the service's `url` input and
`ocrpipe up`'s webhooks share.

Loopback, private, link-local (the cloud metadata address 169.254.169.254 among them),
CGNAT, multicast, reserved and unspecified addresses are not public. `PublicOnlyResolver`
makes the check in the resolver the connection itself uses, so a name that resolves
differently the second time (DNS rebinding) gains nothing.
"""

from __future__ import annotations

import ipaddress
import socket

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver


class RefusedAddress(OSError):
    """The URL's host resolves to an address that may not be reached."""


_IPV4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")
"""SIIT's IPv4-translated addresses (RFC 2765): ::ffff:0:a.b.c.d."""
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
"""Deprecated IPv4-compatible addresses: ::a.b.c.d."""
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"),)
"""The well-known NAT64 prefix (RFC 6052): 64:ff9b::a.b.c.d reaches a.b.c.d."""
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
"""Local-use NAT64 (RFC 8215): where its IPv4 sits depends on the site: refused."""


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address] | None:
    """The IPv4 addresses an IPv6 transition address leads to (IPv4-mapped, -translated,
    -compatible, 6to4, NAT64, Teredo's server and client); None for a plain IPv6 one."""
    low32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.ipv4_mapped is not None:
        return [ip.ipv4_mapped]
    if ip in _IPV4_TRANSLATED or any(ip in net for net in _NAT64):
        return [low32]
    if ip in _IPV4_COMPATIBLE and int(ip) > 1:  # :: and ::1 are IPv6's own
        return [low32]
    if ip.sixtofour is not None:
        return [ip.sixtofour]
    if ip.teredo is not None:
        return list(ip.teredo)
    return None


def public_address(address: str) -> bool:
    """Whether `address` is one the service may fetch from: global, not multicast, and,
    for an IPv6 transition address, every IPv4 address it leads to as well (Python's
    `is_global` calls `::ffff:0:7f00:1` or `2002:7f00:1::1` global: they reach 127.0.0.1)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _NAT64_LOCAL:
            return False
        inner = embedded_ipv4(ip)
        if inner is not None:
            return all(v4.is_global and not v4.is_multicast for v4 in inner)
    return ip.is_global and not ip.is_multicast


def refused_host(host: str) -> bool:
    """A host refused without resolving it: a non-public address literal, or localhost.
    Other names pass here; `PublicOnlyResolver` checks what they resolve to."""
    host = host.strip("[]")
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return host.lower() == "localhost" or host.lower().endswith(".localhost")
    return not public_address(host)


class PublicOnlyResolver(AbstractResolver):
    def __init__(self) -> None:
        self._inner = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        refused = [r["host"] for r in results if not public_address(r["host"])]
        if refused:
            raise RefusedAddress(f"{host} resolves to a non-public address")
        return results

    async def close(self) -> None:
        await self._inner.close()
