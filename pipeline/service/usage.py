"""Server-side usage: every 2xx recognition call counted per enterprise project, per API,
per (UTC) day, as Huawei bills them (protocol.md, section 4), so a client's ledger can be
reconciled with the service's count.

`GET /v1/usage` returns it to the holder of the admin key (auth file `[admin] key_hash`,
sent as the `X-Admin-Key` header; checked off the event loop, with the password attempts
of passwords.py per client address); `?date=YYYY-MM-DD` keeps one day.

The counts live in the service's state database (statedb.py). With a state file (the
default of `ocrpipe serve`) each call is committed to it before its answer is sent, so the
counts survive restarts; one that crashes between the commit and the answer is counted, as
a call Huawei may bill whose answer the client never got. In memory (`--state none`, the
service `ocrpipe run` embeds) they cover the service's lifetime.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from pipeline.protocol.codes import AUTH_FAILED, INVALID_PARAMETER

from .apierror import ApiError
from .passwords import PasswordChecker

USAGE_PATH = "/v1/usage"
ADMIN_KEY_HEADER = "X-Admin-Key"
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")


class Usage:
    """Billed calls per (UTC day, enterprise project, API), read and written in `db`."""

    def __init__(self, db: sqlite3.Connection, today: Callable[[], str] = _today) -> None:
        self._db = db
        self._today = today

    def record(self, enterprise_project: str, api: str) -> None:
        """Count one call; committed when this returns (sqlite3.Error if it cannot be)."""
        self._db.execute(
            "INSERT INTO usage (date, enterprise_project, api, calls) VALUES (?, ?, ?, 1) "
            "ON CONFLICT (date, enterprise_project, api) DO UPDATE SET calls = calls + 1",
            (self._today(), enterprise_project, api),
        )

    def as_json(self, date: str | None = None) -> dict[str, Any]:
        found = self._db.execute(
            "SELECT date, enterprise_project, api, calls FROM usage "
            "WHERE ?1 IS NULL OR date = ?1 ORDER BY date, enterprise_project, api",
            (date,),
        )
        rows = [
            {"date": day, "enterprise_project_id": project, "api": api, "calls": calls}
            for day, project, api, calls in found
        ]
        return {"usage": rows, "total_calls": sum(row["calls"] for row in rows)}


async def usage_answer(
    request: web.Request,
    usage: Usage,
    admin_key_hash: str | None,
    passwords: PasswordChecker | None = None,
) -> Any:
    """The body of GET /v1/usage; ApiError APIG.0301 without the right admin key. The key
    is checked by `passwords` (off the event loop, attempts limited per address)."""
    if admin_key_hash is None:
        raise ApiError(
            AUTH_FAILED,
            "No admin key is configured: add [admin] key_hash to the service's auth file",
        )
    checker = passwords or PasswordChecker([admin_key_hash])
    given = request.headers.get(ADMIN_KEY_HEADER, "")
    if not given:
        raise ApiError(AUTH_FAILED, f"Missing {ADMIN_KEY_HEADER} header")
    if not await checker.verify(given, admin_key_hash, request.remote or "", "admin key"):
        raise ApiError(AUTH_FAILED, f"Wrong {ADMIN_KEY_HEADER} header")
    date = request.query.get("date")
    if date is not None and not _DATE_RE.match(date):
        raise ApiError(INVALID_PARAMETER, "date must look like YYYY-MM-DD")
    return usage.as_json(date)
