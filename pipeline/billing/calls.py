"""The ledger as billing reads it: each usage row as a `Call`, with its region.

The hot `usage` table has no region column; a run's calls all go to one endpoint, so
the region is kept once per run in `run_regions` (its own small table, made by the
migrations with the others: pipeline/store/billing_tables.py). A call's region is the
job's `[ocr] region`, else the region whose OCR host the endpoint names, else unknown
(the embedded service, a private endpoint): then any region's package or price of the
call's API pays, as the issue asks for the embedded endpoint ("the package's region").
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from sqlalchemy import select

from pipeline.billing.deduction import Call
from pipeline.protocol import apis
from pipeline.store import Store
from pipeline.store.billing_tables import run_regions
from pipeline.store.schema import usage

__all__ = ["aware", "call_region", "load_calls", "record_run_region", "run_regions"]


def call_region(region: str | None, endpoint: str) -> str | None:
    """The region a job's calls are billed in."""
    if region:
        return region
    host = urlsplit(endpoint).hostname or ""
    for rid in apis.regions():
        if any(urlsplit(url).hostname == host for url in apis.region_hosts(rid)):
            return rid
    return None


async def record_run_region(store: Store, run_id: int, region: str | None) -> None:
    async with store.engine.begin() as conn:
        await conn.execute(run_regions.insert().values(run_id=run_id, region=region))


async def load_calls(store: Store) -> list[Call]:
    """Every ledger row, oldest first, with its run's region."""
    query = (
        select(usage.c.id, usage.c.started_at, usage.c.enterprise_project, usage.c.api,
               run_regions.c.region, usage.c.outcome)
        .select_from(usage.outerjoin(run_regions, run_regions.c.run_id == usage.c.run_id))
        .order_by(usage.c.started_at, usage.c.id)
    )
    async with store.engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [Call(r.id, aware(r.started_at), r.enterprise_project, r.api, r.region, r.outcome)
            for r in rows]


def aware(value: dt.datetime) -> dt.datetime:
    # SQLite hands back naive datetimes; the store writes UTC
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
