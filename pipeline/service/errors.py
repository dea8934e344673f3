"""Error answers in Huawei's shape: `{"error_code", "error_msg"}`, plus `"request_id"` for the
gateway's own (`APIG.*`) errors (protocol.md, section 2).

A handler raises `ApiError`; the middleware in `app.py` turns it into the JSON answer.
The messages say what is wrong with the request, never echo secrets or image data.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorKind:
    """One Huawei error code and the HTTP status it is answered with."""

    code: str
    status: int


API_NOT_FOUND = ErrorKind("APIG.0101", 404)
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


class ApiError(Exception):
    """An error answer. `str()` is the `error_msg` sent to the client."""

    def __init__(self, kind: ErrorKind, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(kind, message)
        self.kind = kind
        self.message = message
        self.retry_after = retry_after
        """Seconds, sent as Retry-After (throttling)."""

    def __str__(self) -> str:
        return self.message

    def body(self, request_id: str) -> dict[str, str]:
        """The JSON body Huawei sends for this error."""
        return error_body(self.kind, self.message, request_id)


def error_body(kind: ErrorKind, message: str, request_id: str) -> dict[str, str]:
    """`{"error_code", "error_msg"}`, with `"request_id"` for gateway (APIG.*) errors."""
    body = {"error_code": kind.code, "error_msg": message}
    if kind.code.startswith("APIG."):
        body["request_id"] = request_id
    return body
