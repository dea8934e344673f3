"""The billing tables, kept in the state database beside the ledger they describe:
`deductions` (what paid for each ledger row), `run_regions` (the region a run's calls
are billed in) and `billing_alerts` (alerts raised once per crossing).

They live on the store's metadata, so that one schema path (the Alembic migrations that
`open_store` runs, revision 0003c) makes them with the other tables; pipeline/billing/
reads and writes them. The ids they hold (`usage.id`, `runs.id`) are 64-bit like the
rows they point at.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    Float,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from pipeline.store.schema import ROW_ID, metadata

deductions = Table(
    "deductions",
    metadata,
    Column("usage_id", ROW_ID, primary_key=True, autoincrement=False),  # usage.id
    Column("paid_by", String(20), nullable=False),  # free_quota | package | pay_per_use | possible
    Column("package", String(200)),
    Column("cost", Float),  # pay-per-use (or possible) cost; NULL: no price declared
    Column("month", String(7), nullable=False),
    Column("region", String(64)),
)

run_regions = Table(
    "run_regions",
    metadata,
    Column("run_id", ROW_ID, primary_key=True, autoincrement=False),  # runs.id
    Column("region", String(64)),  # NULL: not known (embedded or private endpoint)
)

billing_alerts = Table(
    "billing_alerts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(40), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("threshold", Float, nullable=False),
    Column("at", String(40), nullable=False),  # ISO time of the call that crossed
    Column("raised_at", DateTime(timezone=True), nullable=False),
    Column("notified_at", DateTime(timezone=True)),  # NULL: webhook not (yet) delivered
    UniqueConstraint("kind", "subject", "threshold", "at", name="uq_billing_alerts"),
)

__all__ = ["billing_alerts", "deductions", "run_regions"]
