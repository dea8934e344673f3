"""Turn an OCR error answer (HTTP status + `error_code`) into a typed `OcrError`.

The table follows protocol.md section 2. The error code decides first; a code we do not
know (or a body that is not JSON) falls back on the HTTP status. The classes added here
refine the shared tree in `pipeline.errors`::

    OcrAuthError
    └── TokenExpired          APIG.0307: a token must be refreshed (then retry once)
    OcrConfigError
    └── EndpointUnreachable   every attempt failed to connect (raised by the policy)
    RetryableOcrError
    └── ConnectFailed         could not connect: nothing was sent, nothing billed
    PageOcrError
    └── PayloadTooLarge       APIG.0201 413 / ModelArts.4104: shrink the image, retry once
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from pipeline.errors import (
    OcrAuthError,
    OcrConfigError,
    OcrError,
    PageOcrError,
    RetryableOcrError,
)
from pipeline.protocol.codes import (
    AUTH_CODES,
    BODY_TOO_LARGE,
    CONFIG_CODES,
    CONTENT_TOO_LONG,
    GATEWAY_RETRY_AFTER,
    NOT_SUBSCRIBED,
    THROTTLE_CODES,
    TOKEN_EXPIRED_CODE,
    is_backend_code,
    is_page_code,
    parse_error_body,
)


class TokenExpired(OcrAuthError):
    """APIG.0307: the token expired or belongs to another region; refresh it, retry once."""


class EndpointUnreachable(OcrConfigError):
    """No attempt could even connect to the endpoint: wrong URL, host down, no network."""


class ConnectFailed(RetryableOcrError):
    """The connection could not be opened (refused, DNS, TLS): the request was not sent."""


class PayloadTooLarge(PageOcrError):
    """The body or image is over the service's size limit: shrink the page and retry once."""


@dataclass(frozen=True)
class CallSite:
    """Where a call went: named in configuration errors so the user can spot the typo."""

    endpoint: str
    project_id: str
    api: str

    def describe(self) -> str:
        return f"endpoint {self.endpoint}, project id {self.project_id}, api {self.api}"


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def error_for_answer(
    status: int,
    body: bytes,
    *,
    site: CallSite,
    request_id: str | None,
    retry_after: str | None,
) -> OcrError:
    """The error to raise for a non-2xx answer (see the table in protocol.md)."""
    code, msg, body_request_id = parse_error_body(body)
    said = f": {_clip(msg)}" if msg else ""
    if code is None and not said and body.strip():
        said = f": non-JSON answer {_clip(body.decode('utf-8', 'replace'))!r}"
    kind, message = _classify(status, code, said, site)
    wait = parse_retry_after(retry_after)
    if wait is None and code == BODY_TOO_LARGE.code and kind is RetryableOcrError:
        wait = GATEWAY_RETRY_AFTER
    return kind(
        message,
        code=code,
        status=status,
        request_id=request_id or body_request_id,
        retry_after=wait,
    )


def _classify(
    status: int, code: str | None, said: str, site: CallSite
) -> tuple[type[OcrError], str]:
    c = code or ""
    # The error code decides first ...
    if c == TOKEN_EXPIRED_CODE:
        return TokenExpired, f"the OCR token must be refreshed{said}"
    if c in AUTH_CODES:
        return OcrAuthError, _auth_message(site, said)
    if c in CONFIG_CODES:
        return OcrConfigError, _config_message(site, c, said)
    if c in THROTTLE_CODES:
        return RetryableOcrError, f"the OCR service is throttling us{said}"
    if c == CONTENT_TOO_LONG.code or (c == BODY_TOO_LARGE.code and status == 413):
        return PayloadTooLarge, f"the page is too large for the OCR service{said}"
    if c == BODY_TOO_LARGE.code or is_backend_code(c):
        return RetryableOcrError, f"the OCR service is temporarily unavailable{said}"
    if is_page_code(c):
        return PageOcrError, f"the OCR service rejected this page{said}"
    # ... then the HTTP status, for codes we do not know and bodies without one.
    if status in (401, 403):
        return OcrAuthError, _auth_message(site, said)
    if status in (404, 405):
        return OcrConfigError, _config_message(site, code, said)
    if status == 413:
        return PayloadTooLarge, f"the page is too large for the OCR service{said}"
    if status in (408, 429) or status >= 500:
        return RetryableOcrError, f"the OCR service failed or is busy{said}"
    if 400 <= status < 500:
        return PageOcrError, f"the OCR service rejected this page{said}"
    if 300 <= status < 400:
        return OcrConfigError, (
            f"the OCR endpoint answered with a redirect ({site.describe()}){said}: "
            "use the final URL as the endpoint"
        )
    return OcrConfigError, f"unexpected answer from the OCR service ({site.describe()}){said}"


def _auth_message(site: CallSite, said: str) -> str:
    return (
        f"the OCR service rejected our credentials{said}. Check HUAWEICLOUD_SDK_AK and "
        f"HUAWEICLOUD_SDK_SK (or the credentials file), and that project id "
        f"{site.project_id} belongs to that account and to the region of {site.endpoint}"
    )


def _config_message(site: CallSite, code: str | None, said: str) -> str:
    hint = (
        "the API is not subscribed for this account in this region"
        if code == NOT_SUBSCRIBED.code
        else "check the endpoint (region), the project id and the api name for a typo"
    )
    return f"the OCR call cannot work ({site.describe()}){said}: {hint}"


def _clip(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
