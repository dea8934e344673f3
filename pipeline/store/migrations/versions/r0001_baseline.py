"""The baseline: the state store's tables as ocrpipe 0.1 made them.

Idempotent, so that it also brings a state database made before migrations existed
(`open_store`'s create_all, or an older release) to this revision in place: a table
that is missing is created, a column that is missing (`documents.fingerprint`,
`jobs.run_scope`, `jobs.documents_listed`, all nullable) is added, nothing is dropped.
Its tables are written out here, not taken from pipeline/store/schema.py, so that later
changes to the schema go in later revisions.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

BASELINE = sa.MetaData()

sa.Table(
    "api_tokens",
    BASELINE,
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("token_hash", sa.String(length=64), nullable=False),
    sa.Column("name", sa.String(length=200), nullable=False),
    sa.Column("enterprise_project", sa.String(length=100), nullable=True),
    sa.Column("admin", sa.Boolean(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("token_hash")
)
sa.Table(
    "documents",
    BASELINE,
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("job", sa.String(length=200), nullable=False),
    sa.Column("key", sa.Text(), nullable=False),
    sa.Column("change_token", sa.String(length=200), nullable=True),
    sa.Column("fingerprint", sa.String(length=200), nullable=True),
    sa.Column("status", sa.String(length=20), nullable=False),
    sa.Column("page_count", sa.Integer(), nullable=True),
    sa.Column("error", sa.Text(), nullable=True),
    sa.Column("outputs", sa.Text(), nullable=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("job", "key", name="uq_documents_job_key")
)
sa.Table(
    "job_leases",
    BASELINE,
    sa.Column("job", sa.String(length=200), nullable=False),
    sa.Column("holder", sa.String(length=64), nullable=False),
    sa.Column("pid", sa.Integer(), nullable=False),
    sa.Column("host", sa.String(length=255), nullable=False),
    sa.Column("since", sa.Float(), nullable=False),
    sa.Column("heartbeat", sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint("job")
)
sa.Table(
    "jobs",
    BASELINE,
    sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("id", sa.String(length=40), nullable=False),
    sa.Column("name", sa.String(length=200), nullable=False),
    sa.Column("enterprise_project", sa.String(length=100), nullable=False),
    sa.Column("spec", sa.Text(), nullable=False),
    sa.Column("status", sa.String(length=20), nullable=False),
    sa.Column("priority", sa.Integer(), nullable=False),
    sa.Column("idempotency_key", sa.String(length=200), nullable=True),
    sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("run_started_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("exit_code", sa.Integer(), nullable=True),
    sa.Column("error", sa.Text(), nullable=True),
    sa.Column("summary", sa.Text(), nullable=True),
    sa.Column("lease_owner", sa.String(length=200), nullable=True),
    sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("webhook", sa.Text(), nullable=True),
    sa.Column("run_scope", sa.String(length=20), nullable=True),
    sa.Column("documents_listed", sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint("seq"),
    sa.UniqueConstraint("enterprise_project", "idempotency_key", name="uq_jobs_idempotency"),
    sa.UniqueConstraint("id")
)
sa.Index("ix_jobs_queue", *BASELINE.tables["jobs"].c["status", "priority", "seq"])
sa.Table(
    "runs",
    BASELINE,
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("job", sa.String(length=200), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("status", sa.String(length=20), nullable=False),
    sa.Column("exit_code", sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint("id")
)
sa.Table(
    "webhooks",
    BASELINE,
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("job_id", sa.String(length=40), nullable=False),
    sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("url", sa.Text(), nullable=False),
    sa.Column("payload", sa.Text(), nullable=False),
    sa.Column("state", sa.String(length=20), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("job_id", "ended_at", name="uq_webhooks_job_end")
)
sa.Table(
    "pages",
    BASELINE,
    sa.Column("document_id", sa.Integer(), nullable=False),
    sa.Column("page_index", sa.Integer(), nullable=False),
    sa.Column("change_token", sa.String(length=200), nullable=True),
    sa.Column("result", sa.Text(), nullable=False),
    sa.Column("request_id", sa.String(length=64), nullable=True),
    sa.Column("done_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["document_id"], ["documents.id"], ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("document_id", "page_index")
)
sa.Table(
    "usage",
    BASELINE,
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("run_id", sa.Integer(), nullable=True),
    sa.Column("job", sa.String(length=200), nullable=False),
    sa.Column("doc_key", sa.Text(), nullable=False),
    sa.Column("page_index", sa.Integer(), nullable=False),
    sa.Column("enterprise_project", sa.String(length=100), nullable=False),
    sa.Column("api", sa.String(length=100), nullable=False),
    sa.Column("attempt", sa.Integer(), nullable=False),
    sa.Column("bytes_sent", sa.Integer(), nullable=False),
    sa.Column("outcome", sa.String(length=20), nullable=False),
    sa.Column("http_status", sa.Integer(), nullable=True),
    sa.Column("error_code", sa.String(length=100), nullable=True),
    sa.Column("request_id", sa.String(length=64), nullable=True),
    sa.Column("latency_ms", sa.Float(), nullable=True),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("day", sa.String(length=10), nullable=False),
    sa.ForeignKeyConstraint(["run_id"], ["runs.id"], ),
    sa.PrimaryKeyConstraint("id")
)
sa.Index("ix_usage_outcome", BASELINE.tables["usage"].c.outcome)
sa.Index("ix_usage_project_api", *BASELINE.tables["usage"].c["enterprise_project", "api"])
sa.Table(
    "webhook_attempts",
    BASELINE,
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("webhook_id", sa.Integer(), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("http_status", sa.Integer(), nullable=True),
    sa.Column("error", sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(["webhook_id"], ["webhooks.id"], ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("id")
)


def upgrade() -> None:
    bind = op.get_bind()
    present = sa.inspect(bind)
    for table in BASELINE.sorted_tables:
        if not present.has_table(table.name):
            table.create(bind)
            continue
        have = {column["name"] for column in present.get_columns(table.name)}
        for column in table.columns:
            if column.name not in have:
                op.add_column(table.name, column._copy())
        indexes = {index["name"] for index in present.get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in indexes:
                index.create(bind)


def downgrade() -> None:
    bind = op.get_bind()
    for table in reversed(BASELINE.sorted_tables):
        table.drop(bind, checkfirst=True)
