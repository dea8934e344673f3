"""Work items and listings: documents and page ranges that several workers claim with
leases, and the listing of a job's source done once, resumable (issue 17).

Idempotent like the baseline: `open_store` creates them too. Written out here, not taken
from pipeline/store/schema.py, so later changes go in later revisions.

Revision ID: 0003a
Revises: 0003c
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa

from pipeline.store.migrations.idempotent import create_missing, drop_all

revision: str = "0003a"
down_revision: str | None = "0003c"
branch_labels: str | None = None
depends_on: str | None = None

TABLES = sa.MetaData()

sa.Table(
    "work_items",
    TABLES,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True,
              nullable=False),
    sa.Column("job", sa.String(length=40), nullable=False),
    sa.Column("doc_key", sa.Text(), nullable=False),
    sa.Column("first_page", sa.Integer(), nullable=False),
    sa.Column("last_page", sa.Integer(), nullable=True),
    sa.Column("source", sa.Text(), nullable=False),
    sa.Column("state", sa.String(length=20), nullable=False),
    sa.Column("holder", sa.String(length=200), nullable=True),
    sa.Column("lease_until", sa.Float(), nullable=True),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("job", "doc_key", "first_page", name="uq_work_items_range"),
    sa.Index("ix_work_items_claim", "job", "state"),
)
sa.Table(
    "listings",
    TABLES,
    sa.Column("job", sa.String(length=40), nullable=False),
    sa.Column("last_key", sa.Text(), nullable=True),
    sa.Column("listed", sa.Integer(), nullable=False),
    sa.Column("finished", sa.Boolean(), nullable=False),
    sa.Column("holder", sa.String(length=200), nullable=True),
    sa.Column("lease_until", sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint("job"),
)


def upgrade() -> None:
    create_missing(TABLES)


def downgrade() -> None:
    drop_all(TABLES)
