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


def public_address(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
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
