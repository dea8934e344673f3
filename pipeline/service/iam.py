"""Token auth, as Huawei IAM does it: `POST /v3/auth/tokens` and the tokens it issues.

The request is IAM's password identity with a project scope (protocol.md, section 3):

    {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "alice", "password": "...", "domain": {"name": "acme"}}}},
      "scope": {"project": {"name": "cn-north-4"}}}}

It answers 201 with the token in `X-Subject-Token` and `{"token": {"expires_at", ...}}`.
Without a scope the token is unscoped: OCR calls with it answer ModelArts.0212. Wrong user
or password answers 401 in IAM's own error shape `{"error": {"code", "message", "title"}}`.

Tokens are opaque random strings. The service's state database (statedb.py) keeps the
SHA-256 of each, never the value, with its user, project and lifetime: with a state file (the
default of `ocrpipe serve`) a token stays valid across restarts; in memory (`--state none`)
a restarted service forgets them, and clients fetch a new one on the APIG.0301 that follows.
Tokens expired over a week ago are deleted when a new one is issued. Lifetime: the auth file's
`[tokens] ttl_hours` (default 24 h).

Passwords are checked by passwords.py: off the event loop, 10 failures a minute per client
address (then 429 APIG.0308 with Retry-After), an unknown user as slowly as a known one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from pipeline.protocol import names
from pipeline.protocol.codes import AUTH_FAILED, NOT_PROJECT_SCOPED, TOKEN_EXPIRED, TOKEN_MISSING

from .apierror import ApiError
from .authfile import AuthConfig
from .logsafe import escape
from .passwords import PasswordChecker

logger = logging.getLogger(__name__)



@dataclass(frozen=True)
class Token:
    user: str
    """"DOMAIN/NAME"."""
    project_id: str | None
    project_name: str | None
    issued_at: float
    expires_at: float


KEEP_EXPIRED_S = 7 * 24 * 3600.0
"""How long an expired token is still recognised as expired (rather than unknown)."""


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class TokenStore:
    """Issued tokens, kept in `db` under the SHA-256 of their value."""

    def __init__(
        self, ttl_seconds: float, db: sqlite3.Connection, clock: Callable[[], float] = time.time
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self._db = db
        self._clock = clock
        self._forget_expired(clock())

    def issue(self, user: str, project_id: str | None, project_name: str | None) -> tuple[
        str, Token
    ]:
        now = self._clock()
        self._forget_expired(now)
        value = "MII" + secrets.token_urlsafe(48)
        token = Token(user, project_id, project_name, now, now + self.ttl_seconds)
        self._db.execute(
            "INSERT INTO tokens (token_sha256, user, project_id, project_name, issued_at, "
            "expires_at) VALUES (?, ?, ?, ?, ?, ?)",
            (_digest(value), user, project_id, project_name, token.issued_at, token.expires_at),
        )
        return value, token

    def check(self, value: str, project_id: str) -> str:
        """The user a token belongs to, if it may call `project_id`; ApiError otherwise."""
        if not value.strip():
            raise ApiError(TOKEN_MISSING, "The X-Auth-Token header is empty")
        row = self._db.execute(
            "SELECT user, project_id, project_name, issued_at, expires_at FROM tokens "
            "WHERE token_sha256 = ?",
            (_digest(value.strip()),),
        ).fetchone()
        if row is None:
            raise ApiError(
                AUTH_FAILED, "Incorrect IAM authentication information: unknown token"
            )
        token = Token(*row)
        if self._clock() >= token.expires_at:
            raise ApiError(TOKEN_EXPIRED, "The token expired: get a new one and retry")
        if token.project_id is None:
            raise ApiError(
                NOT_PROJECT_SCOPED,
                "The token is not scoped to a project: ask for it with a project scope",
            )
        if token.project_id != project_id:
            raise ApiError(
                AUTH_FAILED,
                "Incorrect IAM authentication information: the token is for project "
                f"{token.project_id}, not {project_id}",
            )
        return token.user

    def _forget_expired(self, now: float) -> None:
        """Forget tokens expired more than KEEP_EXPIRED_S ago; until then a call with one
        answers APIG.0307 (expired), on which clients fetch a new token, not APIG.0301."""
        self._db.execute("DELETE FROM tokens WHERE expires_at <= ?", (now - KEEP_EXPIRED_S,))


def _iam_error(status: int, message: str) -> web.Response:
    title = {400: "Bad Request", 401: "Unauthorized"}.get(status, "Error")
    return web.json_response(
        {"error": {"code": status, "message": message, "title": title}}, status=status
    )


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _iso(timestamp: float) -> str:
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}000Z"


async def issue_token(
    request: web.Request,
    auth: AuthConfig,
    store: TokenStore,
    *,
    passwords: PasswordChecker | None = None,
    body: bytes | None = None,
) -> web.Response:
    """The `POST /v3/auth/tokens` handler (`body`: the request's, read by the caller within
    its limits; None: read here). Passwords are checked by `passwords` (passwords.py)."""
    checker = passwords or PasswordChecker(u.password_hash for u in auth.users.values())
    try:
        data = json.loads(await request.read() if body is None else body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return _iam_error(400, "The request body is not valid JSON")
    identity = _get(data, "auth", "identity")
    user_part = _get(identity, "password", "user")
    name, password = _get(user_part, "name"), _get(user_part, "password")
    domain = _get(user_part, "domain", "name")
    methods = _get(identity, "methods")
    if (
        not isinstance(methods, list)
        or "password" not in methods
        or not all(isinstance(v, str) and v for v in (name, password, domain))
    ):
        return _iam_error(
            400, "Expected auth.identity with methods [\"password\"] and a user's name, "
            "password and domain name"
        )
    user = auth.users.get((domain, name))
    # An unknown user costs a verification as long as a known one's (passwords.py).
    stored = user.password_hash if user else None
    valid = await checker.verify(password, stored, request.remote or "", "password")
    if user is None or not valid:
        logger.info(
            "token refused for user %s/%s: wrong user name or password",
            escape(domain, 128), escape(name, 128),
        )
        return _iam_error(401, "The username or password is wrong.")

    scope = _get(data, "auth", "scope", "project")
    project_id = project_name = None
    if isinstance(scope, dict):
        wanted_name, wanted_id = scope.get("name"), scope.get("id")
        for candidate in user.projects:
            if candidate == wanted_name or auth.project_id(candidate) == wanted_id:
                project_name, project_id = candidate, auth.project_id(candidate)
        if project_id is None:
            return _iam_error(401, "The user has no access to the requested project.")
    value, token = store.issue(f"{domain}/{name}", project_id, project_name)
    answer: dict[str, Any] = {
        "token": {
            "methods": ["password"],
            "issued_at": _iso(token.issued_at),
            "expires_at": _iso(token.expires_at),
            "user": {"name": name, "domain": {"name": domain}},
            "catalog": [],
        }
    }
    if project_id is not None:
        answer["token"]["project"] = {
            "id": project_id,
            "name": project_name,
            "domain": {"name": domain},
        }
    logger.info(
        "token issued for user %s/%s, project %s",
        escape(domain, 128), escape(name, 128), escape(project_name or "-", 128),
    )
    return web.json_response(answer, status=201, headers={names.SUBJECT_TOKEN: value})
