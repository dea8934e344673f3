"""The embedded OCR service (`ocrpipe serve`): Huawei Cloud OCR's text APIs over RapidOCR
(or Tesseract), with AK/SK and token auth, limits and usage. See server.py for the entry
points.
Wire facts shared with the client (codes, limits, names, signing) are in
`pipeline.protocol`.

    app.py           routes, request ids, error answers, metrics/usage hooks, the log line
    auth.py          AK/SK from the auth file and environment, the auth middleware
    guard.py         what the headers alone refuse, before the body (duplicates, Host, AK, date)
    lockout.py       failed signatures per AK and address with back-off; attempts per address
    passwords.py     password and admin-key checks off the event loop, limited, equal cost
    connections.py   connection caps per address and in all, the header deadline
    logsafe.py       client text escaped for log lines
    authfile.py      the auth file's users, projects, admin key; password hashing
    iam.py           POST /v3/auth/tokens and the token store
    general_text.py  the text APIs' request and response bodies, the API names
    engine.py        the backend in worker processes, the bounded queue
    backend.py       the engine interface; reading order and boxes back to the image sent
    rapid.py         RapidOCR (default); direction.py: page orientation
    tess.py          Tesseract (optional extra)
    images.py        Base64 / image / PDF page decoding and the size limits (in the workers)
    fetch.py         `url` inputs, SSRF-safe
    blocks.py        text blocks, reading order (pipeline.layout), markdown
    limits.py        timeouts, the capped body reader and buffer, the rate limit
    metrics.py       Prometheus exposition; usage.py: billed calls and GET /v1/usage
    apierror.py      ApiError (an error answer) and SetupError (cannot start)
    server.py        ServiceConfig, load_auth, serve, running_service
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .server import ServiceConfig, load_auth, running_service, serve

__all__ = ["ServiceConfig", "load_auth", "running_service", "serve"]


def __getattr__(name: str) -> Any:
    """The server's names, imported on first use: an OCR worker process imports
    `pipeline.service.engine` only, not the HTTP server (about 1 s less per worker start)."""
    if name in __all__:
        from . import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
