"""State: runs, documents, finished pages, the usage ledger, and the job queue with its API
tokens (SQLite by default)."""

from pipeline.store import billing_tables  # noqa: F401  (its tables join the metadata)
from pipeline.store.db import AttemptEnd, DocumentState, Store, database_url, open_store
from pipeline.store.job_reads import JobProgress
from pipeline.store.jobs import JobQueue, JobRecord, JobStatus, StateConflict, run_key
from pipeline.store.schedules import FireRecord, ScheduleRecord, ScheduleStore
from pipeline.store.tokens import TokenInfo, TokenStore

__all__ = [
    "AttemptEnd", "DocumentState", "JobProgress", "JobQueue", "JobRecord", "JobStatus",
    "StateConflict", "Store", "TokenInfo", "TokenStore", "database_url", "open_store", "run_key",
]
__all__ += ["FireRecord", "ScheduleRecord", "ScheduleStore"]  # scheduled runs
