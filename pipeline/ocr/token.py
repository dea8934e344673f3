"""Token auth for the OCR client: an IAM token, fetched, cached and refreshed.

    provider = TokenProvider(session, iam_endpoint="https://iam.cn-north-4.myhuaweicloud.com",
                             user="alice", domain="acme", project="cn-north-4",
                             password=load_iam_password())
    client = OcrClient(session, endpoint=..., project_id=..., token=provider)

`token()` answers the cached token, fetching a new one (`POST /v3/auth/tokens`, password
identity, project scope) when there is none or it is within `refresh_margin` of expiring
(at most a tenth of its lifetime, so short-lived tokens still get used). Expiry is
counted on the local clock from the lifetime the token was issued with, so a skewed
clock does not matter. The OCR client calls `invalidate()` on APIG.0307 and retries once.

The password comes from `OCRPIPE_IAM_PASSWORD`, or `iam_password` in the credentials
file (`OCRPIPE_CREDENTIALS`, default ~/.config/ocrpipe/credentials.toml), never from a
job file; it never appears in a repr, a log line or an error message.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp
from yarl import URL

from pipeline.errors import ConfigError, OcrAuthError, OcrConfigError, RetryableOcrError
from pipeline.ocr.credentials import (
    default_credentials_path,
    read_credentials_toml,
    refuse_if_readable_by_others,
)
from pipeline.protocol.names import SUBJECT_TOKEN, TOKENS_PATH

if TYPE_CHECKING:
    from pipeline.config import OcrSpec

logger = logging.getLogger(__name__)

ENV_PASSWORD = "OCRPIPE_IAM_PASSWORD"

DEFAULT_REFRESH_MARGIN_S = 300.0


def load_iam_password(
    environ: Mapping[str, str] | None = None, path: Path | None = None
) -> str:
    """The IAM password: `OCRPIPE_IAM_PASSWORD`, else `iam_password` in the credentials
    file; ConfigError saying where to put it if neither has one."""
    env = os.environ if environ is None else environ
    if env.get(ENV_PASSWORD):
        return env[ENV_PASSWORD]
    file = path or default_credentials_path(env)
    data = read_credentials_toml(file) if file.exists() else {}
    password = data.get("iam_password")
    if isinstance(password, str) and password:
        refuse_if_readable_by_others(file)
        return password
    raise ConfigError(
        f"token auth needs the IAM user's password: set {ENV_PASSWORD}, or put "
        f'iam_password = "..." in {file} (chmod 600 it)'
    )


def _parse_time(text: object) -> float | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


class TokenProvider:
    """Fetches and caches one project-scoped IAM token (see the module docstring)."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        iam_endpoint: str,
        user: str,
        domain: str,
        project: str,
        password: str,
        refresh_margin: float = DEFAULT_REFRESH_MARGIN_S,
        timeout: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        url = URL(iam_endpoint.rstrip("/"))
        if url.scheme not in ("http", "https") or not url.host:
            raise ConfigError(f"IAM endpoint {iam_endpoint!r} must look like https://host[:port]")
        if not (user and domain and project):
            raise ConfigError("token auth needs the IAM user, domain (account) and project names")
        self._session = session
        self.url = str(url) + TOKENS_PATH
        self.user, self.domain, self.project = user, domain, project
        self._password = password
        self.refresh_margin = refresh_margin
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._clock = clock
        self._token: str | None = None
        self._expires = 0.0
        self._lifetime = 0.0
        self._lock = asyncio.Lock()
        self.fetches = 0
        """How many tokens were fetched (for tests and logs)."""

    def __repr__(self) -> str:
        return f"TokenProvider({self.url!r}, user={self.domain}/{self.user}, password='***')"

    def _fresh(self) -> bool:
        margin = min(self.refresh_margin, self._lifetime / 10)
        return self._token is not None and self._clock() < self._expires - margin

    async def token(self) -> str:
        if self._fresh() and self._token is not None:
            return self._token
        async with self._lock:
            if not self._fresh() or self._token is None:
                await self._fetch()
            assert self._token is not None
            return self._token

    def invalidate(self, token: str) -> None:
        """Forget `token` (the service said APIG.0307) unless a newer one replaced it."""
        if token == self._token:
            self._token = None

    async def _fetch(self) -> None:
        body = {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {
                            "name": self.user,
                            "password": self._password,
                            "domain": {"name": self.domain},
                        }
                    },
                },
                "scope": {"project": {"name": self.project}},
            }
        }
        started = self._clock()
        try:
            async with self._session.post(
                self.url, json=body, timeout=self._timeout, allow_redirects=False
            ) as response:
                payload = await response.read()
                token = response.headers.get(SUBJECT_TOKEN)
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RetryableOcrError(
                f"cannot get an IAM token from {self.url}: {type(exc).__name__} {exc}"
            ) from None
        who = f"user {self.domain}/{self.user}, project {self.project}"
        if status in (400, 401, 403):
            raise OcrAuthError(
                f"IAM at {self.url} refused a token for {who} (HTTP {status}): check the user, "
                f"domain and project names in the job file and the password in {ENV_PASSWORD} "
                "or the credentials file",
                status=status,
            )
        if status >= 500:
            raise RetryableOcrError(f"IAM at {self.url} failed (HTTP {status})", status=status)
        if status != 201 or not token:
            raise OcrConfigError(
                f"IAM at {self.url} answered HTTP {status} without a token: check iam_endpoint",
                status=status,
            )
        try:
            data = json.loads(payload).get("token", {})
        except (ValueError, AttributeError):
            data = {}
        issued, expires = _parse_time(data.get("issued_at")), _parse_time(data.get("expires_at"))
        lifetime = expires - issued if issued is not None and expires is not None else 86400.0
        self._token, self._lifetime = token, max(lifetime, 0.0)
        self._expires = started + self._lifetime
        self.fetches += 1
        logger.info("IAM token fetched for %s, valid %.0f s", who, self._lifetime)


def token_provider_for(session: aiohttp.ClientSession, spec: OcrSpec) -> TokenProvider | None:
    """The provider a job's `[ocr]` table asks for (`auth = "token"`), else None (AK/SK)."""
    if spec.auth != "token":
        return None
    return TokenProvider(
        session,
        iam_endpoint=spec.iam_endpoint or "",
        user=spec.iam_user or "",
        domain=spec.iam_domain or "",
        project=spec.iam_project or "",
        password=load_iam_password(),
        timeout=spec.timeout,
    )
