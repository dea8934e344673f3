"""Billing tables in the schema, and 64-bit ids for the tables that grow with the pages.

- `deductions`, `run_regions`, `billing_alerts` (pipeline/store/billing_tables.py) were
  made by pipeline/billing/ on first use; they are made here now, idempotently, so a
  database where billing already made them keeps them and their rows.
- On PostgreSQL, `runs.id`, `documents.id`, `pages.document_id`, `usage.id`,
  `usage.run_id`, `deductions.usage_id` and `run_regions.run_id` become BIGINT, and the
  sequences behind the ids count in BIGINT too (an INTEGER sequence stops at 2^31: at
  100 M pages a month the ledger passes it in under two years). ALTER ... TYPE rewrites
  each table: on a big database run `ocrpipe db upgrade` in a quiet hour. SQLite's
  INTEGER already is 64-bit: nothing changes there.

Downgrade changes nothing: narrowing an id could fail on rows past 2^31, and the billing
tables are what the previous release makes on first use anyway.

Revision ID: 0003c
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from pipeline.store.migrations.idempotent import create_missing

revision: str = "0003c"
down_revision: str | None = "0003b"
branch_labels: str | None = None
depends_on: str | None = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

TABLES = sa.MetaData()

sa.Table(
    "deductions",
    TABLES,
    sa.Column("usage_id", ROW_ID, autoincrement=False, nullable=False),
    sa.Column("paid_by", sa.String(length=20), nullable=False),
    sa.Column("package", sa.String(length=200), nullable=True),
    sa.Column("cost", sa.Float(), nullable=True),
    sa.Column("month", sa.String(length=7), nullable=False),
    sa.Column("region", sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint("usage_id"),
)
sa.Table(
    "run_regions",
    TABLES,
    sa.Column("run_id", ROW_ID, autoincrement=False, nullable=False),
    sa.Column("region", sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint("run_id"),
)
sa.Table(
    "billing_alerts",
    TABLES,
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("kind", sa.String(length=40), nullable=False),
    sa.Column("subject", sa.String(length=200), nullable=False),
    sa.Column("threshold", sa.Float(), nullable=False),
    sa.Column("at", sa.String(length=40), nullable=False),
    sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("kind", "subject", "threshold", "at", name="uq_billing_alerts"),
)

WIDENED = (
    ("runs", "id"), ("documents", "id"), ("pages", "document_id"), ("usage", "id"),
    ("usage", "run_id"), ("deductions", "usage_id"), ("run_regions", "run_id"),
)
"""(table, column) made BIGINT on PostgreSQL."""


def upgrade() -> None:
    create_missing(TABLES)
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for name, column in WIDENED:
        op.execute(f'ALTER TABLE "{name}" ALTER COLUMN "{column}" TYPE BIGINT')
        sequence = bind.execute(sa.text("SELECT pg_get_serial_sequence(:t, :c)"),
                                {"t": f'"{name}"', "c": column}).scalar()
        if sequence is not None:
            op.execute(f"ALTER SEQUENCE {sequence} AS BIGINT")


def downgrade() -> None:
    """Nothing: see the module's docstring."""
