"""`ocrpipe db prune`'s policy: which cutoff (a day, or a number of months to keep,
$OCRPIPE_RETENTION_MONTHS), moved back by the billing file so the books stay the same
(pipeline/billing/ledger_floor.py), then the store's batched deletes
(pipeline/store/retention.py)."""

from __future__ import annotations

import datetime as dt
import os

from pipeline.billing.config import find_billing_path, load_billing
from pipeline.billing.ledger_floor import ledger_floor
from pipeline.errors import ConfigError
from pipeline.store import open_store
from pipeline.store.engine import DEFAULT_DB
from pipeline.store.retention import Pruned, prune


def cutoff_of(before: str | None, keep_months: int | None,
              now: dt.datetime | None = None) -> dt.datetime:
    """The cutoff (UTC) that `--before DATE` or `--keep-months N` names: N months kept
    besides the current one."""
    if (before is None) == (keep_months is None):
        raise ConfigError("give --before YYYY-MM-DD or --keep-months N (or set "
                          "OCRPIPE_RETENTION_MONTHS), one of them")
    if before is not None:
        try:
            day = dt.date.fromisoformat(before)
        except ValueError:
            raise ConfigError(f"--before {before!r} is not a day: give YYYY-MM-DD") from None
        return dt.datetime.combine(day, dt.time(), dt.UTC)
    assert keep_months is not None
    now = now or dt.datetime.now(dt.UTC)
    months = now.year * 12 + now.month - 1 - keep_months
    return dt.datetime(months // 12, months % 12 + 1, 1, tzinfo=dt.UTC)


async def run_prune(state: str | None, cutoff: dt.datetime, *, documents_too: bool = False,
                    dry_run: bool = False) -> tuple[Pruned, str | None]:
    """Prune the state database `state` (else $OCRPIPE_DB) before `cutoff`, moved back
    by the billing file if there is one; returns what was removed and why the cutoff
    moved (None if it did not)."""
    database = state or os.environ.get("OCRPIPE_DB") or DEFAULT_DB
    path = find_billing_path(database)
    billing = load_billing(path) if path is not None and path.is_file() else None
    floor = ledger_floor(cutoff, billing)
    store = await open_store(database)
    try:
        done = await prune(store, floor.cutoff.astimezone(dt.UTC), documents_too=documents_too,
                           dry_run=dry_run)
    finally:
        await store.close()
    return done, floor.reason
