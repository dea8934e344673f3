"""The service's two exceptions: `ApiError`, an error answer in Huawei's shape, and
`SetupError`, a service that cannot start as configured.

A handler raises `ApiError(kind, message)` with an `ErrorKind` from
`pipeline.protocol.codes`; the middleware in `app.py` turns it into the JSON answer. The
messages say what is wrong with the request, never echo secrets or image data.
"""

from __future__ import annotations

from pipeline.protocol.codes import ErrorKind, error_body


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


class SetupError(Exception):
    """The service cannot start as configured (auth file, flags, engine, state file).

    `str()` says what to change. `ocrpipe serve` exits 2 with it; a job that embeds the
    service reports it as a configuration error.
    """

    exit_code = 2
