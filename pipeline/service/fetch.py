"""`url` input: the service downloads the image itself, safely.

- only http and https; at most MAX_REDIRECTS redirects, each one checked again;
- the host's addresses must all be public: loopback, private, link-local (the cloud
  metadata address 169.254.169.254 among them), CGNAT, multicast, reserved and
  unspecified addresses are refused (SSRF), IPv6 transition addresses (IPv4-mapped,
  -translated and -compatible, 6to4, NAT64, Teredo) by the IPv4 addresses they lead to,
  unless the service runs with
  `--allow-private-urls`. The check is made by the resolver the connection itself uses,
  so a name that resolves differently the second time (DNS rebinding) gains nothing;
- at most MAX_DOWNLOAD_BYTES (the raw size a 10 MB Base64 image holds) and
  `timeout` seconds.

A refused URL answers 400 ModelArts.4601; a download that fails answers 400 ModelArts.4603.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

from pipeline.protocol.codes import URL_DOWNLOAD_FAILED, URL_INVALID
from pipeline.protocol.limits import MAX_BASE64_CHARS

from .apierror import ApiError

MAX_DOWNLOAD_BYTES = MAX_BASE64_CHARS * 3 // 4
MAX_REDIRECTS = 3
DEFAULT_TIMEOUT_S = 10.0


class RefusedAddress(OSError):
    """The URL's host resolves to an address the service may not fetch from."""


_NUMERIC_LABEL = re.compile(r"0[xX][0-9a-fA-F]*|[0-9]+")
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


class _PublicOnlyResolver(AbstractResolver):
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


class Fetcher:
    """Downloads `url` inputs; one per service (owns an aiohttp session)."""

    def __init__(self, *, allow_private: bool = False, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        self.allow_private = allow_private
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        connector: Any = (
            aiohttp.TCPConnector()
            if self.allow_private
            else aiohttp.TCPConnector(resolver=_PublicOnlyResolver())
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=self.timeout),
            headers={"User-Agent": "ocrpipe-service/0.1"},
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def check_url(self, url: URL) -> None:
        if url.scheme not in ("http", "https") or not url.host:
            raise ApiError(URL_INVALID, "url must be an http:// or https:// URL with a host")
        if self.allow_private:
            return
        host = url.host.strip("[]")
        try:
            ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            if host.lower() == "localhost" or host.lower().endswith(".localhost"):
                raise ApiError(URL_INVALID, _refused(host)) from None
            if all(_NUMERIC_LABEL.fullmatch(label) for label in host.split(".")):
                raise ApiError(  # 127.1, 0x7f000001, 2130706433: IPv4 in disguise
                    URL_INVALID, f"url refused: {host} is not a canonical IP address"
                ) from None
            return  # a name: the resolver checks its addresses
        if not public_address(host):
            raise ApiError(URL_INVALID, _refused(host))

    async def fetch(self, url_text: str) -> bytes:
        if self._session is None:
            raise ApiError(URL_DOWNLOAD_FAILED, "The service cannot download urls now")
        try:
            url = URL(url_text.strip())
        except ValueError:
            raise ApiError(URL_INVALID, "url is not a valid URL") from None
        for _ in range(MAX_REDIRECTS + 1):
            self.check_url(url)
            try:
                async with self._session.get(url, allow_redirects=False) as response:
                    if response.status in (301, 302, 303, 307, 308):
                        location = response.headers.get("Location", "")
                        url = url.join(URL(location))
                        continue
                    if response.status != 200:
                        raise ApiError(
                            URL_DOWNLOAD_FAILED,
                            f"Downloading url failed: the server answered HTTP {response.status}",
                        )
                    return await _read_capped(response)
            except ApiError:
                raise
            except RefusedAddress:
                raise ApiError(URL_INVALID, _refused(url.host or "")) from None
            except aiohttp.ClientConnectorError as exc:
                if isinstance(exc.os_error, RefusedAddress):
                    raise ApiError(URL_INVALID, _refused(url.host or "")) from None
                raise ApiError(URL_DOWNLOAD_FAILED, f"Downloading url failed: {exc}") from None
            except TimeoutError:
                raise ApiError(
                    URL_DOWNLOAD_FAILED,
                    f"Downloading url failed: no answer within {self.timeout:g} s",
                ) from None
            except aiohttp.ClientError as exc:
                raise ApiError(URL_DOWNLOAD_FAILED, f"Downloading url failed: {exc}") from None
        raise ApiError(
            URL_DOWNLOAD_FAILED, f"Downloading url failed: over {MAX_REDIRECTS} redirects"
        )


async def _read_capped(response: aiohttp.ClientResponse) -> bytes:
    if response.content_length is not None and response.content_length > MAX_DOWNLOAD_BYTES:
        raise ApiError(URL_DOWNLOAD_FAILED, _too_big())
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(256 * 1024):
        size += len(chunk)
        if size > MAX_DOWNLOAD_BYTES:
            raise ApiError(URL_DOWNLOAD_FAILED, _too_big())
        chunks.append(chunk)
    if not size:
        raise ApiError(URL_DOWNLOAD_FAILED, "Downloading url failed: the file is empty")
    return b"".join(chunks)


def _too_big() -> str:
    return f"Downloading url failed: the file is over {MAX_DOWNLOAD_BYTES} bytes"


def _refused(host: str) -> str:
    return (
        f"url refused: {host} is a loopback, private, link-local or otherwise non-public "
        "address (the service fetches public URLs only)"
    )
