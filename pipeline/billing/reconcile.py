"""`ocrpipe reconcile`: the ledger's billed calls per enterprise project, API and UTC day
next to the provider's count, from `ocrpipe serve`'s `GET /v1/usage` or a CSV export.

A difference is explained when the provider counted more than the ledger billed by no
more than the ledger's outcome-unknown calls of that day, project and API (sent, no
answer: the provider may have billed them). Applying the reconciliation turns that many
unknown calls (oldest first: which ones were billed cannot be told apart) into 'billed',
and, when the provider's count is then met, the rest of them into 'failed' (the provider
did not bill them). Differences nothing explains are left for a person to look at.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from sqlalchemy import func, select, update

from pipeline.errors import ConfigError
from pipeline.store import Store
from pipeline.store.schema import usage

Key = tuple[str, str, str]  # (day, enterprise project, API)

_CSV_NAMES = {
    "day": ("date", "day", "usage date"),
    "enterprise_project": ("enterprise project", "enterprise_project", "enterprise_project_id",
                           "enterprise project id"),
    "api": ("api", "api name", "service"),
    "calls": ("calls", "usage", "count", "billed calls"),
}


@dataclass(frozen=True)
class Difference:
    day: str
    enterprise_project: str
    api: str
    ledger_billed: int
    provider: int
    unknown_ids: tuple[int, ...] = field(default=())

    @property
    def difference(self) -> int:
        return self.provider - self.ledger_billed

    @property
    def explained(self) -> bool:
        return 0 <= self.difference <= len(self.unknown_ids)

    def as_dict(self) -> dict[str, Any]:
        return {"day": self.day, "enterprise_project": self.enterprise_project, "api": self.api,
                "ledger_billed": self.ledger_billed, "provider": self.provider,
                "difference": self.difference, "unknown_calls": len(self.unknown_ids),
                "unknown_ids": list(self.unknown_ids), "explained": self.explained}


def counts_from_usage_json(body: Any) -> dict[Key, int]:
    """The provider's counts from a `/v1/usage` answer."""
    try:
        return {(r["date"], r["enterprise_project_id"], r["api"]): int(r["calls"])
                for r in body["usage"]}
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(
            f"the /v1/usage answer is not the service's usage shape ({exc})") from None


def counts_from_csv(text: str, origin: str) -> dict[Key, int]:
    """The provider's counts from a CSV with a header row naming date, enterprise project,
    API and calls (the console export's column names, or ours)."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = {name.strip().lower(): name for name in reader.fieldnames or ()}
    columns = {}
    for wanted, names in _CSV_NAMES.items():
        found = next((header[n] for n in names if n in header), None)
        if found is None:
            raise ConfigError(f"{origin}: no {wanted} column (one of: {', '.join(names)}); "
                              f"its columns: {', '.join(header) or 'none'}")
        columns[wanted] = found
    counts: dict[Key, int] = defaultdict(int)
    for line, row in enumerate(reader, start=2):
        try:
            calls = int(row[columns["calls"]])
        except (TypeError, ValueError):
            raise ConfigError(f"{origin} line {line}: calls is not a whole number") from None
        key = (row[columns["day"]].strip()[:10], row[columns["enterprise_project"]].strip(),
               row[columns["api"]].strip())
        counts[key] += calls
    return dict(counts)


async def fetch_usage(url: str, admin_key: str) -> dict[Key, int]:
    """GET {url}/v1/usage with the admin key (never logged or shown)."""
    target = url.rstrip("/") + "/v1/usage"
    try:
        async with aiohttp.ClientSession() as session, session.get(
            target, headers={"X-Admin-Key": admin_key}, timeout=aiohttp.ClientTimeout(30)
        ) as response:
            if response.status != 200:
                raise ConfigError(f"{target} answered {response.status}: check "
                                  "OCRPIPE_ADMIN_KEY (the service's [admin] key)")
            return counts_from_usage_json(await response.json())
    except aiohttp.ClientError as exc:
        raise ConfigError(f"cannot read {target}: {exc.__class__.__name__}") from None


async def compare(store: Store, provider: dict[Key, int]) -> list[Difference]:
    """Every (day, project, API) where the ledger's billed calls and the provider's count
    differ, with the ledger's unknown calls there."""
    billed: dict[Key, int] = {}
    unknown: dict[Key, list[int]] = defaultdict(list)
    query = (select(usage.c.day, usage.c.enterprise_project, usage.c.api, func.count())
             .where(usage.c.outcome == "billed")
             .group_by(usage.c.day, usage.c.enterprise_project, usage.c.api))
    async with store.engine.connect() as conn:
        for day, project, api, calls in await conn.execute(query):
            billed[(day, project, api)] = calls
        rows = await conn.execute(
            select(usage.c.id, usage.c.day, usage.c.enterprise_project, usage.c.api)
            .where(usage.c.outcome == "unknown").order_by(usage.c.id))
        for row_id, day, project, api in rows:
            unknown[(day, project, api)].append(row_id)
    out = []
    for key in sorted(set(billed) | set(provider) | set(unknown)):
        ours, theirs = billed.get(key, 0), provider.get(key, 0)
        if ours != theirs or unknown.get(key):
            out.append(Difference(*key, ours, theirs, tuple(unknown.get(key, ()))))
    return out


async def apply(store: Store, differences: list[Difference]) -> tuple[int, int]:
    """Settle the unknown calls that the provider's count explains: (made billed, made
    failed)."""
    to_billed: list[int] = []
    to_failed: list[int] = []
    for diff in differences:
        if not diff.explained:
            continue
        to_billed += diff.unknown_ids[:diff.difference]
        to_failed += diff.unknown_ids[diff.difference:]
    async with store.engine.begin() as conn:
        if to_billed:
            await conn.execute(update(usage).where(usage.c.id.in_(to_billed))
                               .values(outcome="billed", error_code="reconciled"))
        if to_failed:
            await conn.execute(update(usage).where(usage.c.id.in_(to_failed))
                               .values(outcome="failed", error_code="reconciled: not billed"))
    return len(to_billed), len(to_failed)
