"""AK/SK request signing, SDK-HMAC-SHA256, byte for byte as the official Huawei SDK does it.

Both sides use this module: the pipeline's OCR client signs (`sign_request`) and the
embedded service checks (`verify_request`). The canonical form (protocol.md, section 3):

    CanonicalRequest = METHOD \\n URI/ \\n QUERY \\n name:value\\n... \\n a;b \\n hex(sha256(body))
    StringToSign     = SDK-HMAC-SHA256 \\n X-Sdk-Date \\n hex(sha256(CanonicalRequest))
    Authorization    = SDK-HMAC-SHA256 Access=AK, SignedHeaders=a;b, Signature=hex(hmac(SK, ...))

Differences from the SDK are deliberate and only on the verifying side: `verify_request`
insists that `Host` and `X-Sdk-Date` are signed, and refuses `UNSIGNED-PAYLOAD` (the SDK
only sends it for non-JSON bodies, which no OCR call has) unless asked to accept it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from pipeline.protocol.names import AUTHORIZATION, CONTENT_SHA256, SDK_DATE

ALGORITHM = "SDK-HMAC-SHA256"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_REQUIRED_SIGNED = ("host", "x-sdk-date")

_AUTH_RE = re.compile(
    rf"^{ALGORITHM}\s+Access=(?P<ak>[^,\s]+),\s*SignedHeaders=(?P<names>[^,\s]+),"
    r"\s*Signature=(?P<sig>[0-9a-fA-F]+)\s*$"
)


class SignatureError(Exception):
    """A request's AK/SK signature is missing, malformed, stale or wrong.

    `str()` is a short reason that is safe to log: it never contains the secret key or
    the signature.
    """


def sign_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    ak: str,
    sk: str,
    *,
    now: datetime | None = None,
) -> dict[str, str]:
    """Return a new dict: `headers` plus Host (host[:port] from url, if absent), X-Sdk-Date
    and Authorization.

    Every header in `headers` (name without `_`) is signed, so pass exactly the headers the
    request will carry; ones the HTTP library adds later (Content-Length, Accept...) are not
    signed, as with the SDK. An `X-Sdk-Date` already in `headers` is kept (and used).
    Values are stripped, as the SDK strips them before sending.
    """
    if not ak or not sk:
        raise ValueError("both ak and sk are required to sign a request")
    parts = urlsplit(url)
    signed = {name: str(value).strip() for name, value in headers.items()}
    if not _find(signed, "host"):
        signed["Host"] = parts.netloc.rpartition("@")[2]
    content_type = _find(signed, "content-type")
    if content_type and not content_type.startswith(("application/json", "application/bson")):
        signed[CONTENT_SHA256] = UNSIGNED_PAYLOAD
    sdk_date = _find(signed, SDK_DATE)
    if sdk_date is None:
        moment = (now or datetime.now(UTC)).astimezone(UTC)
        signed[SDK_DATE] = moment.strftime(DATE_FORMAT)
    else:
        moment = datetime.strptime(sdk_date, DATE_FORMAT).replace(tzinfo=UTC)

    lowered = {name.lower(): value for name, value in signed.items()}
    names = sorted(name for name in lowered if "_" not in name)
    query = parse_qsl(parts.query, keep_blank_values=True)
    canonical = _canonical_request(
        method, parts.path, query, names, lowered, _payload_hash(body, lowered)
    )
    signature = _signature(sk, moment, canonical)
    signed[AUTHORIZATION] = (
        f"{ALGORITHM} Access={ak}, SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    return signed


def verify_request(
    method: str,
    path: str,
    query: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
    body: bytes,
    secret_for: Callable[[str], str | None],
    *,
    now: datetime | None = None,
    max_skew: timedelta = timedelta(minutes=15),
    allow_unsigned_payload: bool = False,
) -> str:
    """Check the Authorization header of a received request; return the AK.

    `path` is the request path as received (percent-encoded, e.g. aiohttp's
    `request.raw_path` without the query; a decoded path works unless it contains `%`),
    `query` the decoded (key, value) pairs, `headers` a mapping with case-insensitive or
    any-case names (aiohttp's `request.headers`). `secret_for(ak)` returns the SK or None.
    Raises `SignatureError` with a log-safe reason.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    authorization = lowered.get("authorization")
    if not authorization:
        raise SignatureError("no Authorization header")
    match = _AUTH_RE.match(authorization.strip())
    if match is None:
        raise SignatureError(f"Authorization is not a {ALGORITHM} signature")
    ak, names_text, given = match["ak"], match["names"], match["sig"].lower()
    names = names_text.split(";")
    if names != sorted(set(names)) or any(n != n.lower() or "_" in n for n in names):
        raise SignatureError("SignedHeaders is not a sorted list of lower-case header names")
    for required in _REQUIRED_SIGNED:
        if required not in names:
            raise SignatureError(f"header {required!r} is not signed")
    missing = [name for name in names if name not in lowered]
    if missing:
        raise SignatureError(f"signed header(s) missing from the request: {', '.join(missing)}")

    sdk_date = lowered["x-sdk-date"].strip()
    try:
        signed_at = datetime.strptime(sdk_date, DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise SignatureError(f"X-Sdk-Date is not in the form {DATE_FORMAT}") from None
    clock = now or datetime.now(UTC)
    if clock.tzinfo is None:
        clock = clock.replace(tzinfo=UTC)
    if abs(clock - signed_at) > max_skew:
        raise SignatureError(
            f"X-Sdk-Date is more than {int(max_skew.total_seconds() // 60)} minutes "
            "from the server clock"
        )
    payload_hash = _payload_hash(body, lowered)
    declared = lowered.get(CONTENT_SHA256.lower(), "").strip()
    if body and declared == UNSIGNED_PAYLOAD:
        if not allow_unsigned_payload:
            raise SignatureError("unsigned payloads are not accepted")
    elif body and declared and declared.lower() != hashlib.sha256(body).hexdigest():
        raise SignatureError("X-Sdk-Content-Sha256 does not match the body")

    secret = secret_for(ak)
    if not secret:
        raise SignatureError("unknown access key")
    values = {name: lowered[name].strip() for name in names}
    canonical = _canonical_request(method, path, list(query), names, values, payload_hash)
    expected = _signature(secret, signed_at, canonical)
    if not hmac.compare_digest(expected.encode("ascii"), given.encode("ascii")):
        raise SignatureError("signature does not match")
    return ak


def _find(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


def _payload_hash(body: bytes, lowered_headers: Mapping[str, str]) -> str:
    if not body:
        return _EMPTY_SHA256
    declared = lowered_headers.get(CONTENT_SHA256.lower(), "").strip()
    if declared:
        return declared
    return hashlib.sha256(body).hexdigest()


def _canonical_uri(path: str) -> str:
    uri = "/".join(quote(segment, safe="~") for segment in unquote(path or "/").split("/"))
    return uri if uri.endswith("/") else uri + "/"


def _canonical_query(query: Iterable[tuple[str, str]]) -> str:
    pairs = sorted(query)
    return "&".join(f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in pairs)


def _canonical_request(
    method: str,
    path: str,
    query: Iterable[tuple[str, str]],
    names: list[str],
    values: Mapping[str, str],
    payload_hash: str,
) -> str:
    headers = "".join(f"{name}:{values[name].strip()}\n" for name in names)
    return "\n".join(
        (
            method.upper(),
            _canonical_uri(path),
            _canonical_query(query),
            headers,
            ";".join(names),
            payload_hash,
        )
    )


def _signature(secret: str, signed_at: datetime, canonical_request: str) -> str:
    digest = hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()
    string_to_sign = f"{ALGORITHM}\n{signed_at.strftime(DATE_FORMAT)}\n{digest}"
    mac = hmac.new(secret.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha256)
    return mac.hexdigest()
