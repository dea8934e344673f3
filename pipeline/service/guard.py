"""What can be refused from the headers alone, before a byte of the body is read.

Every request (auth.py's middleware calls these in this order):

1. `check_single_headers`: `Authorization`, `X-Sdk-Date`, `X-Auth-Token`,
   `Enterprise-Project-Id`, `X-Security-Token`, `X-Admin-Key`, `Host`, `Content-Length`,
   `Content-Type`, and every header the request's `Authorization` names as signed, must
   appear at most once: 400 APIG.0201 naming the header. (Were two copies allowed, the
   signature check and the billing could each read a different one.)
2. `check_host`: with `--public-host` set, the `Host` header must name it (404 APIG.0101:
   the client's endpoint is wrong).
3. `check_length`: a `Content-Length` over the 12 MB limit answers 413 at once.
4. `precheck_signature` (signed requests): the `Authorization` must be an SDK-HMAC-SHA256
   one with a known AK that this client address is not backed off for (lockout.py), and
   `X-Sdk-Date` must be within 15 minutes of the server clock; else 401 APIG.0301.

Only then is the body read, within the body timeout and the pre-authentication buffer
budget (limits.py), and the signature checked over it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from aiohttp import web
from multidict import CIMultiDictProxy

from pipeline.protocol import names
from pipeline.protocol.codes import API_NOT_FOUND, AUTH_FAILED, BAD_REQUEST
from pipeline.protocol.limits import MAX_BODY_BYTES
from pipeline.protocol.names import SDK_DATE
from pipeline.protocol.signing import ALGORITHM, DATE_FORMAT

from .apierror import ApiError
from .authfile import AuthConfig
from .limits import too_large
from .lockout import Lockout
from .logsafe import escape, printable

MAX_SKEW = timedelta(minutes=15)
SINGLE_HEADERS = (
    names.AUTHORIZATION,
    names.SDK_DATE,
    names.AUTH_TOKEN,
    names.ENTERPRISE_PROJECT,
    names.SECURITY_TOKEN,
    "X-Admin-Key",
    names.CONTENT_SHA256,
    "X-Project-Id",
    "Host",
    "Content-Length",
    "Content-Type",
    "Transfer-Encoding",
)
_SIGNED_RE = re.compile(r"SignedHeaders=([^,\s]+)")
_ACCESS_RE = re.compile(rf"^{ALGORITHM}\s+Access=([^,\s]+),")


def _signed_names(headers: CIMultiDictProxy[str]) -> Iterable[str]:
    for value in headers.getall(names.AUTHORIZATION, []):
        for match in _SIGNED_RE.finditer(value):
            yield from match.group(1).split(";")


def check_single_headers(headers: CIMultiDictProxy[str]) -> None:
    """400 APIG.0201 if a header that must appear once appears more often."""
    for name in (*SINGLE_HEADERS, *_signed_names(headers)):
        if name and len(headers.getall(name, [])) > 1:
            shown = printable(escape(name, 64))
            raise ApiError(
                BAD_REQUEST,
                f"Bad request: the header {shown} appears more than once; send it once",
            )


def host_matches(host: str, public_host: str) -> bool:
    """Whether the `Host` header names `public_host` ("name" matches any port,
    "name:port" that port only; case-insensitive)."""
    host, public_host = host.strip().lower(), public_host.strip().lower()
    if _split_port(public_host)[1] is not None:
        return host == public_host
    return _split_port(host)[0] == public_host.strip("[]")


def _split_port(value: str) -> tuple[str, str | None]:
    if value.startswith("["):  # [v6]:port
        end = value.find("]")
        rest = value[end + 1:]
        return value[1:end], rest[1:] if rest.startswith(":") else None
    if value.count(":") == 1:
        name, port = value.split(":")
        return name, port
    return value, None


def check_host(request: web.BaseRequest, public_host: str | None) -> None:
    if not public_host:
        return
    host = request.headers.get("Host", "")
    if not host_matches(host, public_host):
        raise ApiError(
            API_NOT_FOUND,
            f"This service is reached as {public_host}, not {printable(escape(host, 64))}: "
            f"use http(s)://{public_host} as the endpoint",
        )


def check_length(request: web.BaseRequest, limit: int = MAX_BODY_BYTES) -> None:
    declared = request.content_length
    if declared is not None and declared > limit:
        raise too_large(declared)


def claimed_ak(request: web.BaseRequest) -> str:
    """The AK an SDK-HMAC-SHA256 `Authorization` header names ("" if none)."""
    match = _ACCESS_RE.match(request.headers.get(names.AUTHORIZATION, "").strip())
    return match.group(1) if match else ""


def precheck_signature(
    request: web.BaseRequest, auth: AuthConfig, lockout: Lockout, address: str
) -> str:
    """The claimed AK, if the headers leave a chance that the signature holds; else
    ApiError 401 APIG.0301 (a stale date counts as a failed signature)."""
    ak = claimed_ak(request)
    if not ak:
        raise _refused(f"the Authorization header is missing or not an {ALGORITHM} signature")
    if ak not in auth.credentials:
        raise _refused("unknown access key")
    lockout.check(ak, address)
    stamp = request.headers.get(SDK_DATE, "").strip()
    try:
        signed_at = datetime.strptime(stamp, DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        lockout.failed(ak, address)
        raise _refused(f"{SDK_DATE} is missing or not in the form {DATE_FORMAT}") from None
    if abs(datetime.now(UTC) - signed_at) > MAX_SKEW:
        lockout.failed(ak, address)
        raise _refused(
            f"{SDK_DATE} is more than {MAX_SKEW.seconds // 60} minutes from the server clock"
        )
    return ak


def _refused(reason: str) -> ApiError:
    return ApiError(AUTH_FAILED, f"Incorrect IAM authentication information: {reason}")
