"""The error tree. Third-party errors are translated into these at the seam where they
enter (aiohttp, pypdfium2, Pillow, SQLAlchemy); only `cli.py` turns them into exit codes.

    OcrpipeError                      exit 2 unless a subclass says otherwise
    ├── JobInterrupted                SIGINT/SIGTERM: stopped cleanly, re-run to resume (130)
    │   └── CallNotSent               a page waiting for a call slot when the job stopped
    ├── ConfigError                   job file, endpoint, credentials: the job cannot run (2)
    │   └── OcrConfigError            the OCR service says the call itself is wrong (APIG.0101, ...)
    ├── AuthError                     the OCR service refused our credentials (3)
    ├── DocumentError                 one input document is unusable; recorded, the job goes on
    │   ├── EmptyDocument
    │   ├── CorruptDocument
    │   ├── EncryptedDocument
    │   ├── UnsupportedDocument
    │   ├── PageSizeError             too small / too large even after fitting
    │   └── ObjectUnreadable          (storage.base) one object cannot be read: denied, gone
    └── OcrError                      one OCR call failed (carries code, status, request id)
        ├── RetryableOcrError         429, 5xx, timeouts, dropped connections: back off and retry
        │   ├── OutcomeUnknown        sent, no answer: may have been billed
        │   └── ConnectFailed         (ocr.errors_map) nothing was sent
        ├── PageOcrError              the service rejected this page's input: fail the page
        │   └── PayloadTooLarge       (ocr.errors_map) 413 / ModelArts.4104
        ├── OcrConfigError            APIG.0101, ModelArts.4204 (also a ConfigError)
        │   └── EndpointUnreachable   (ocr.errors_map) every attempt failed to connect
        └── OcrAuthError              401 (also an AuthError)
            └── TokenExpired          (ocr.errors_map) APIG.0307: refresh once

Exit codes of `ocrpipe run`: 0 every document done; 1 some documents failed (see the
error records); 2 the job could not run (configuration); 3 authentication failed;
130 interrupted (Ctrl-C / SIGTERM; re-run to resume).
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What `ocrpipe` exits with; the README's exit-code table lists the same."""

    OK = 0
    DOCUMENTS_FAILED = 1
    CONFIG = 2
    AUTH = 3
    INTERRUPTED = 130


class OcrpipeError(Exception):
    """Base of every error ocrpipe raises on purpose. `str()` is the user-facing message."""

    exit_code: ExitCode = ExitCode.CONFIG


class JobInterrupted(OcrpipeError):
    """Ctrl-C / SIGTERM: the job stopped taking work; finished pages are kept. `summary`:
    what the run did before it stopped (a `RunSummary`), when it got that far."""

    exit_code = ExitCode.INTERRUPTED

    def __init__(self, message: str = "", *, summary: object = None) -> None:
        super().__init__(message)
        self.summary = summary


class CallNotSent(JobInterrupted):
    """The job is stopping: this page got its call slot too late and was not sent."""


class ConfigError(OcrpipeError):
    """The job cannot run as configured; the message says what to change."""

    exit_code = ExitCode.CONFIG


class AuthError(OcrpipeError):
    """The OCR service rejected the credentials; every further call would fail too."""

    exit_code = ExitCode.AUTH


class DocumentError(OcrpipeError):
    """One input document cannot be processed. The job records it and goes on."""

    exit_code = ExitCode.DOCUMENTS_FAILED


class EmptyDocument(DocumentError):
    pass


class CorruptDocument(DocumentError):
    pass


class EncryptedDocument(DocumentError):
    pass


class UnsupportedDocument(DocumentError):
    pass


class PageSizeError(DocumentError):
    pass


class OcrError(OcrpipeError):
    """One OCR call failed. Carries what the service said, never what we sent."""

    exit_code = ExitCode.DOCUMENTS_FAILED

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.request_id = request_id
        self.retry_after = retry_after

    def __str__(self) -> str:
        base = super().__str__()
        parts = [p for p in (self.code, f"HTTP {self.status}" if self.status else None) if p]
        return f"{base} ({', '.join(parts)})" if parts else base


class RetryableOcrError(OcrError):
    """Throttling, server errors, timeouts: worth retrying after a pause."""


class OutcomeUnknown(RetryableOcrError):
    """The request was sent but no answer came back: it may have been billed."""


class PageOcrError(OcrError):
    """The service rejected this page (bad image, size out of range...): do not retry."""


class OcrConfigError(ConfigError, OcrError):
    """The service says the call cannot work at all (unknown API, not subscribed)."""

    def __init__(self, message: str, **kwargs: object) -> None:
        OcrError.__init__(self, message, **kwargs)  # type: ignore[arg-type]


class OcrAuthError(AuthError, OcrError):
    """401 from the service: signature, token or AK rejected."""

    def __init__(self, message: str, **kwargs: object) -> None:
        OcrError.__init__(self, message, **kwargs)  # type: ignore[arg-type]
