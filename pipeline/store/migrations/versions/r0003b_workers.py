"""The worker registry: the `workers` table (pipeline/fleet/registry.py).

Idempotent like the revisions before it (a table that exists is left as it is). Written
out here, not taken from pipeline/store/schema.py, so later changes go
in later revisions.

Revision ID: 0003b
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa

from pipeline.store.migrations.idempotent import create_missing, drop_all

revision: str = "0003b"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

TABLES = sa.MetaData()

sa.Table(
    "workers",
    TABLES,
    sa.Column("id", sa.String(length=100), nullable=False),
    sa.Column("host", sa.String(length=255), nullable=False),
    sa.Column("pid", sa.Integer(), nullable=False),
    sa.Column("kind", sa.String(length=10), nullable=False),
    sa.Column("concurrency", sa.Integer(), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("jobs", sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint("id"),
)


def upgrade() -> None:
    create_missing(TABLES)


def downgrade() -> None:
    drop_all(TABLES)
