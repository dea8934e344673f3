"""State: runs, documents, finished pages and the usage ledger (SQLite by default)."""

from pipeline.store.db import AttemptEnd, DocumentState, Store, database_url, open_store

__all__ = ["AttemptEnd", "DocumentState", "Store", "database_url", "open_store"]
