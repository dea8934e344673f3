"""Error codes, the HTTP status each is answered with, and the error body (protocol.md §2).

An error answer is `{"error_code", "error_msg"}`, plus `"request_id"` for the API
gateway's own (`APIG.*`) errors. The service answers with the `ErrorKind`s below; the
client sorts any code it receives into the families at the end (auth, configuration,
throttling, page) to decide between stopping, retrying and failing one page.
"""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorKind:
    """One Huawei error code and the HTTP status it is answered with."""

    code: str
    status: int


API_NOT_FOUND = ErrorKind("APIG.0101", 404)
ORCHESTRATION_ERROR = ErrorKind("APIG.0106", 400)
"""A parameter is missing or mistyped."""
BAD_REQUEST = ErrorKind("APIG.0201", 400)
"""The gateway's generic 400: a request malformed at the HTTP level (a header that must
appear once appears twice, an unreadable body)."""
REQUEST_TIMEOUT = ErrorKind("APIG.0201", 408)
"""The gateway's family for timeouts: the body did not arrive within the body timeout."""
BODY_TOO_LARGE = ErrorKind("APIG.0201", 413)
GATEWAY_TIMEOUT = ErrorKind("APIG.0201", 504)
AUTH_FAILED = ErrorKind("APIG.0301", 401)
TOKEN_EXPIRED = ErrorKind("APIG.0307", 401)
THROTTLED = ErrorKind("APIG.0308", 429)
NOT_PROJECT_SCOPED = ErrorKind("ModelArts.0212", 401)
TOKEN_MISSING = ErrorKind("ModelArts.4101", 401)
NOT_SUBSCRIBED = ErrorKind("ModelArts.4204", 403)
MAX_CONCURRENCY = ErrorKind("ModelArts.4401", 429)
URL_INVALID = ErrorKind("ModelArts.4601", 400)
"""Our choice: a `url` that is not http(s) or points at a refused address (SSRF)."""
URL_DOWNLOAD_FAILED = ErrorKind("ModelArts.4603", 400)
CONTENT_TOO_LONG = ErrorKind("ModelArts.4104", 400)
INVALID_JSON = ErrorKind("ModelArts.4105", 400)
BACKEND_UNAVAILABLE = ErrorKind("ModelArts.4503", 503)
"""Our choice (protocol.md lists ModelArts.45xx as 500/503 backend errors): the OCR worker
process died or the pool is shutting down; the client should retry."""
INTERNAL_ERROR = ErrorKind("ModelArts.4500", 500)
INVALID_PARAMETER = ErrorKind("AIS.0101", 400)
UNSUPPORTED_FORMAT = ErrorKind("AIS.0102", 400)
IMAGE_SIZE = ErrorKind("AIS.0103", 400)
RECOGNITION_FAILED = ErrorKind("AIS.0105", 400)

# Families, as a client sorts the codes it receives
TOKEN_EXPIRED_CODE = TOKEN_EXPIRED.code
"""Refresh the token, then retry once."""
AUTH_CODES = frozenset(
    {AUTH_FAILED.code, NOT_PROJECT_SCOPED.code, TOKEN_MISSING.code,
     "ModelArts.4102", "ModelArts.4103"}
)
"""The credentials are refused: every further call would fail too."""
CONFIG_CODES = frozenset({API_NOT_FOUND.code, NOT_SUBSCRIBED.code})
"""The call cannot work at all: wrong endpoint, project, API, or no subscription."""
THROTTLE_CODES = frozenset({THROTTLED.code, MAX_CONCURRENCY.code})
"""Too many calls: slow down, retry."""
PAGE_CODES = frozenset({ORCHESTRATION_ERROR.code, INVALID_JSON.code, URL_DOWNLOAD_FAILED.code,
                        "ModelArts.4704"})
"""This request's input is refused (with every `AIS.01xx`): fail the page."""
RETRY_ONCE_CODES = frozenset({RECOGNITION_FAILED.code})
"""Page errors worth one more try (the engine may succeed the second time)."""
GATEWAY_RETRY_AFTER = 2.0
"""Huawei's advice for APIG.0201 502/504: retry after 2-5 s."""


def is_page_code(code: str) -> bool:
    return code in PAGE_CODES or code.startswith("AIS.01")


def is_backend_code(code: str) -> bool:
    """A backend failure (ModelArts.45xx): temporary, retry."""
    return code.startswith("ModelArts.45")


def error_body(kind: ErrorKind, message: str, request_id: str) -> dict[str, str]:
    """`{"error_code", "error_msg"}`, with `"request_id"` for gateway (APIG.*) errors."""
    body = {"error_code": kind.code, "error_msg": message}
    if kind.code.startswith("APIG."):
        body["request_id"] = request_id
    return body


def parse_error_body(body: bytes) -> tuple[str | None, str | None, str | None]:
    """`(error_code, error_msg, request_id)` from an error body; Nones if it is not JSON."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None, None, None
    if not isinstance(data, dict):
        return None, None, None

    def text(key: str) -> str | None:
        value = data.get(key)
        return str(value) if value is not None else None

    return text("error_code"), text("error_msg"), text("request_id")
