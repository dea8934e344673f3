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
from typing import Any

import aiohttp
from yarl import URL

from pipeline.protocol.addresses import PublicOnlyResolver as _PublicOnlyResolver
from pipeline.protocol.addresses import RefusedAddress, public_address
from pipeline.protocol.codes import URL_DOWNLOAD_FAILED, URL_INVALID
from pipeline.protocol.limits import MAX_BASE64_CHARS

from .apierror import ApiError

MAX_DOWNLOAD_BYTES = MAX_BASE64_CHARS * 3 // 4
MAX_REDIRECTS = 3
DEFAULT_TIMEOUT_S = 10.0


_NUMERIC_LABEL = re.compile(r"0[xX][0-9a-fA-F]*|[0-9]+")


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
