"""The state store's tables: jobs, documents, pages and the usage ledger.

SQLAlchemy Core metadata, so the same tables run on SQLite (default) and, later,
PostgreSQL. One `usage` row per OCR attempt: written as 'pending' before the request
is sent, completed after; a crash leaves it 'pending', which the next run turns into
'unknown' (outcome unknown, may be billed).
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job", String(200), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("status", String(20), nullable=False),  # running | done | failed | interrupted
    Column("exit_code", Integer),
)

documents = Table(
    "documents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job", String(200), nullable=False),
    Column("key", Text, nullable=False),
    Column("change_token", String(200)),
    Column("fingerprint", String(200)),  # the source's stat when change_token was computed
    Column("status", String(20), nullable=False),  # pending | done | failed
    Column("page_count", Integer),
    Column("error", Text),
    Column("outputs", Text),  # JSON list of written output URLs
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("job", "key", name="uq_documents_job_key"),
)

pages = Table(
    "pages",
    metadata,
    Column("document_id", ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True),
    Column("page_index", Integer, primary_key=True),
    Column("change_token", String(200)),
    Column("result", Text, nullable=False),  # OcrResult as JSON
    Column("request_id", String(64)),
    Column("done_at", DateTime(timezone=True), nullable=False),
)

usage = Table(
    "usage",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", ForeignKey("runs.id")),
    Column("job", String(200), nullable=False),
    Column("doc_key", Text, nullable=False),
    Column("page_index", Integer, nullable=False),
    Column("enterprise_project", String(100), nullable=False),
    Column("api", String(100), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("bytes_sent", Integer, nullable=False),
    Column("outcome", String(20), nullable=False),  # pending | billed | failed | unknown
    Column("http_status", Integer),
    Column("error_code", String(100)),
    Column("request_id", String(64)),
    Column("latency_ms", Float),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("day", String(10), nullable=False),  # UTC date of the attempt, for daily totals
)

Index("ix_usage_project_api", usage.c.enterprise_project, usage.c.api)
Index("ix_usage_outcome", usage.c.outcome)

job_leases = Table(
    "job_leases",
    metadata,
    # one row per job while a run holds it (pipeline/joblock.py); times are Unix seconds
    Column("job", String(200), primary_key=True),
    Column("holder", String(64), nullable=False),  # a random id of the holding run
    Column("pid", Integer, nullable=False),
    Column("host", String(255), nullable=False),
    Column("since", Float, nullable=False),
    Column("heartbeat", Float, nullable=False),
)
