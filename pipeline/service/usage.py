"""Server-side usage: every 2xx recognition call counted per enterprise project, per API,
per (UTC) day, as Huawei bills them (protocol.md, section 4), so a client's ledger can be
reconciled with the service's count.

`GET /v1/usage` returns it to the holder of the admin key (auth file `[admin] key_hash`,
sent as the `X-Admin-Key` header); `?date=YYYY-MM-DD` keeps one day. Counts live in memory:
they cover the service's lifetime.
"""

from __future__ import annotations

import asyncio
import re
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from .authfile import verify_password
from .errors import AUTH_FAILED, INVALID_PARAMETER, ApiError

USAGE_PATH = "/v1/usage"
ADMIN_KEY_HEADER = "X-Admin-Key"
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")


class Usage:
    def __init__(self, today: Callable[[], str] = _today) -> None:
        self._today = today
        self.calls: dict[tuple[str, str, str], int] = defaultdict(int)
        """(date, enterprise project, api) -> billed calls."""

    def record(self, enterprise_project: str, api: str) -> None:
        self.calls[(self._today(), enterprise_project, api)] += 1

    def as_json(self, date: str | None = None) -> dict[str, Any]:
        rows = [
            {"date": day, "enterprise_project_id": project, "api": api, "calls": calls}
            for (day, project, api), calls in sorted(self.calls.items())
            if date is None or day == date
        ]
        return {"usage": rows, "total_calls": sum(row["calls"] for row in rows)}


async def usage_answer(request: web.Request, usage: Usage, admin_key_hash: str | None) -> Any:
    """The body of GET /v1/usage; ApiError APIG.0301 without the right admin key."""
    if admin_key_hash is None:
        raise ApiError(
            AUTH_FAILED,
            "No admin key is configured: add [admin] key_hash to the service's auth file",
        )
    given = request.headers.get(ADMIN_KEY_HEADER, "")
    if not given or not await asyncio.to_thread(verify_password, given, admin_key_hash):
        raise ApiError(AUTH_FAILED, f"Wrong or missing {ADMIN_KEY_HEADER} header")
    date = request.query.get("date")
    if date is not None and not _DATE_RE.match(date):
        raise ApiError(INVALID_PARAMETER, "date must look like YYYY-MM-DD")
    return usage.as_json(date)
