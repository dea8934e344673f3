"""Schedules: the `schedules` and `schedule_fires` tables (scheduled runs).

Idempotent like the baseline: `open_store` creates them too, so a database opened by
this release before `ocrpipe db upgrade` already has them and is only stamped. Written
out here, not taken from pipeline/store/schedules.py, so later changes go in later
revisions.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa

from pipeline.store.migrations.idempotent import create_missing, drop_all

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

TABLES = sa.MetaData()

sa.Table(
    "schedules",
    TABLES,
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("enterprise_project", sa.String(length=100), nullable=False),
    sa.Column("name", sa.String(length=200), nullable=False),
    sa.Column("spec", sa.Text(), nullable=False),
    sa.Column("cron", sa.String(length=200), nullable=False),
    sa.Column("timezone", sa.String(length=100), nullable=False),
    sa.Column("overlap", sa.String(length=10), nullable=False),
    sa.Column("misfire", sa.String(length=10), nullable=False),
    sa.Column("paused", sa.Boolean(), nullable=False),
    sa.Column("origin", sa.Text(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("enterprise_project", "name", name="uq_schedules_project_name"),
)
sa.Table(
    "schedule_fires",
    TABLES,
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("enterprise_project", sa.String(length=100), nullable=False),
    sa.Column("name", sa.String(length=200), nullable=False),
    sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("outcome", sa.String(length=10), nullable=False),
    sa.Column("detail", sa.Text(), nullable=True),
    sa.Column("job_id", sa.String(length=40), nullable=True),
    sa.Column("fired_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("fired_by", sa.String(length=200), nullable=False),
    sa.Column("reported", sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("enterprise_project", "name", "due_at", name="uq_schedule_fires_due"),
)


def upgrade() -> None:
    create_missing(TABLES)


def downgrade() -> None:
    drop_all(TABLES)
