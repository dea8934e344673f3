"""A small client of the job API for the CLI (`ocrpipe submit`, `ocrpipe jobs`).

Synchronous (urllib): the CLI makes one call at a time. Answers other than 2xx become
`ApiClientError` with the server's message; the token never appears in an error.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from pipeline.errors import ConfigError

DEFAULT_SERVER = "http://127.0.0.1:8700"


class ApiClientError(ConfigError):
    """The server refused the call or could not be reached; the message says why."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class JobApi:
    def __init__(self, server: str, token: str | None, *, timeout: float = 30.0) -> None:
        if not token:
            raise ConfigError("set OCRPIPE_TOKEN to a token of the job API "
                              "(`ocrpipe token create --project EP` on the server prints one)")
        self.server, self._token, self.timeout = server.rstrip("/"), token, timeout

    @classmethod
    def from_environment(cls, server: str | None) -> JobApi:
        return cls(server or os.environ.get("OCRPIPE_SERVER") or DEFAULT_SERVER,
                   os.environ.get("OCRPIPE_TOKEN"))

    def call(self, method: str, path: str, body: object = None,
             headers: dict[str, str] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.server + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self._token}")
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise ApiClientError(f"{method} {path}: HTTP {exc.code}: {_message(exc)}",
                                 exc.code) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ApiClientError(f"cannot reach the job API at {self.server} ({reason}): is "
                                 "`ocrpipe up` running? (--server / $OCRPIPE_SERVER)") from None

    def submit(self, job: dict[str, Any], idempotency_key: str | None = None) -> Any:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return self.call("POST", "/v1/jobs", job, headers)

    def job(self, job_id: str) -> Any:
        return self.call("GET", f"/v1/jobs/{urllib.parse.quote(job_id)}")

    def jobs(self, **filters: str | None) -> Any:
        query = urllib.parse.urlencode({k: v for k, v in filters.items() if v is not None})
        return self.call("GET", "/v1/jobs" + (f"?{query}" if query else ""))

    def action(self, job_id: str, action: str) -> Any:
        return self.call("POST", f"/v1/jobs/{urllib.parse.quote(job_id)}/{action}")


def _message(exc: urllib.error.HTTPError) -> str:
    try:
        payload = json.loads(exc.read())
        return str(payload.get("message", payload))
    except (ValueError, OSError, AttributeError):
        return exc.reason if isinstance(exc.reason, str) else "no message"
