"""What paid for each ledger row, kept in the state database: the `deductions` table,
one row per billed or outcome-unknown usage row (keyed by its id), rewritten from the
deduction whenever the books are made (the end of a run, `ocrpipe billing status`).

The deduction is a pure function of the whole ledger, so this table is its saved
result, for SQL and other tools to join with `usage`; it is kept apart from the `usage`
table, which every OCR attempt writes, so billing adds nothing to that hot path.
"""

from __future__ import annotations

from sqlalchemy import delete, insert

from pipeline.billing.deduction import Books
from pipeline.store import Store
from pipeline.store.billing_tables import deductions

__all__ = ["deductions", "record_deductions"]


async def record_deductions(store: Store, books: Books) -> None:
    rows = [{"usage_id": c.call_id, "paid_by": c.paid_by, "package": c.package,
             "cost": c.cost, "month": c.month, "region": c.region}
            for c in books.charges if c.call_id > 0]
    async with store.engine.begin() as conn:
        await conn.execute(delete(deductions))
        if rows:
            await conn.execute(insert(deductions), rows)
