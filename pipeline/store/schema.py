"""The state store's tables: runs, documents, pages, the usage ledger, and the job queue
(`jobs`, `api_tokens`) that `ocrpipe up` serves and works off.

SQLAlchemy Core metadata, so the same tables run on SQLite (default) and, later,
PostgreSQL. One `usage` row per OCR attempt: written as 'pending' before the request
is sent, completed after; a crash leaves it 'pending', which the next run turns into
'unknown' (outcome unknown, may be billed).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
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

ROW_ID = BigInteger().with_variant(Integer(), "sqlite")
"""The id of a table that grows with the pages (runs, documents, the ledger): 64-bit on
PostgreSQL (100 M pages a month pass 2^31 ledger rows within two years), INTEGER on
SQLite, where only that spelling is the rowid that autoincrements (and is 64-bit)."""

runs = Table(
    "runs",
    metadata,
    Column("id", ROW_ID, primary_key=True, autoincrement=True),
    Column("job", String(200), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("status", String(20), nullable=False),  # running | done | failed | interrupted
    Column("exit_code", Integer),
)

documents = Table(
    "documents",
    metadata,
    Column("id", ROW_ID, primary_key=True, autoincrement=True),
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
    Column("document_id", ROW_ID, ForeignKey("documents.id", ondelete="CASCADE"),
           primary_key=True),
    Column("page_index", Integer, primary_key=True),
    Column("change_token", String(200)),
    Column("result", Text, nullable=False),  # OcrResult as JSON
    Column("request_id", String(64)),
    Column("done_at", DateTime(timezone=True), nullable=False),
)

usage = Table(
    "usage",
    metadata,
    Column("id", ROW_ID, primary_key=True, autoincrement=True),
    Column("run_id", ROW_ID, ForeignKey("runs.id")),
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

jobs = Table(
    "jobs",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),  # queue order, list cursor
    Column("id", String(40), nullable=False, unique=True),  # public, opaque: "job_..."
    Column("name", String(200), nullable=False),
    Column("enterprise_project", String(100), nullable=False),
    Column("spec", Text, nullable=False),  # the job as JSON (never credentials)
    Column("status", String(20), nullable=False),  # see pipeline.store.jobs.JobStatus
    Column("priority", Integer, nullable=False, default=0),
    Column("idempotency_key", String(200)),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True)),  # the first run's start
    Column("run_started_at", DateTime(timezone=True)),  # the latest run's start
    Column("finished_at", DateTime(timezone=True)),
    Column("attempts", Integer, nullable=False, default=0),  # claims so far
    Column("exit_code", Integer),
    Column("error", Text),
    Column("summary", Text),  # the last run's RunSummary counts as JSON
    Column("lease_owner", String(200)),
    Column("lease_expires_at", DateTime(timezone=True)),
    Column("webhook", Text),  # [notify] webhook: told when the job ends
    Column("run_scope", String(20)),  # NULL: every listed document; "failed": a retry's
    Column("documents_listed", Integer),  # what the latest run lists, once counted
    UniqueConstraint("enterprise_project", "idempotency_key", name="uq_jobs_idempotency"),
)

Index("ix_jobs_queue", jobs.c.status, jobs.c.priority, jobs.c.seq)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),  # SHA-256 hex, never the token
    Column("name", String(200), nullable=False),
    Column("enterprise_project", String(100)),  # NULL for an admin token
    Column("admin", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", String(40), nullable=False),
    Column("ended_at", DateTime(timezone=True), nullable=False),  # the job's finished_at
    Column("url", Text, nullable=False),
    Column("payload", Text, nullable=False),  # the job's final JSON, as sent
    Column("state", String(20), nullable=False),  # pending | delivered | gave_up
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    UniqueConstraint("job_id", "ended_at", name="uq_webhooks_job_end"),  # one per ending
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("webhook_id", ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("http_status", Integer),
    Column("error", Text),
)

workers = Table(
    "workers",
    metadata,
    # one row per `ocrpipe up` / `ocrpipe worker` process while it runs (pipeline/fleet/)
    Column("id", String(100), primary_key=True),  # "host:pid:random"
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("kind", String(10), nullable=False),  # up | worker | run
    Column("concurrency", Integer, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("heartbeat_at", DateTime(timezone=True), nullable=False),
    Column("jobs", Text, nullable=False),  # the run keys it holds work of, a JSON list
)

work_items = Table(
    "work_items",
    metadata,
    # what a fleet of workers shares of one job run (pipeline/store/work_items.py): a
    # document, or a page range of a large PDF, claimed with a lease (Unix seconds)
    Column("id", ROW_ID, primary_key=True, autoincrement=True),
    Column("job", String(40), nullable=False),  # jobs.id
    Column("doc_key", Text, nullable=False),
    Column("first_page", Integer, nullable=False),  # 0-based; 0 for a whole document
    Column("last_page", Integer),  # inclusive; NULL: the whole document
    Column("source", Text, nullable=False),  # the listed SourceObject as JSON
    Column("state", String(20), nullable=False),  # queued | claimed | done | failed
    Column("holder", String(200)),
    Column("lease_until", Float),
    Column("attempts", Integer, nullable=False, default=0),
    UniqueConstraint("job", "doc_key", "first_page", name="uq_work_items_range"),
)

Index("ix_work_items_claim", work_items.c.job, work_items.c.state)

listings = Table(
    "listings",
    metadata,
    # one job run's listing, done once by the holder of its lease (pipeline/fleet/listing.py)
    Column("job", String(40), primary_key=True),  # jobs.id
    Column("last_key", Text),  # the continuation: the last key whose item is stored
    Column("listed", Integer, nullable=False, default=0),
    Column("finished", Boolean, nullable=False, default=False),
    Column("holder", String(200)),
    Column("lease_until", Float),
)
