"""The service's state file: billed-call counts (usage.py) and issued IAM tokens (iam.py) in
SQLite, so that a restart of `ocrpipe serve` keeps both.

`open_state(path)` opens (or creates) the file: WAL journal, synchronous=NORMAL, autocommit
(each statement is its own transaction, committed when `execute` returns). With no path the
same tables live in memory and end with the process: the service that `ocrpipe run` embeds,
and `ocrpipe serve --state none`.

Tokens are stored as the SHA-256 of their value, never the value itself. The connection is
used from the service's event loop only; each statement is one indexed row.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from .apierror import SetupError

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS usage (
    date TEXT NOT NULL,
    enterprise_project TEXT NOT NULL,
    api TEXT NOT NULL,
    calls INTEGER NOT NULL,
    PRIMARY KEY (date, enterprise_project, api)
);
CREATE TABLE IF NOT EXISTS tokens (
    token_sha256 TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    project_id TEXT,
    project_name TEXT,
    issued_at REAL NOT NULL,
    expires_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS tokens_by_expiry ON tokens (expires_at);
"""


def describe(path: Path | None) -> str:
    """Where the state is kept, for the start-up log line."""
    return str(path) if path is not None else "memory only"


def open_state(path: Path | None) -> sqlite3.Connection:
    """The state database at `path` (created with its folder if absent), or in memory when
    `path` is None. SetupError when it cannot be created, written or read."""
    if path is None:
        return _prepare(sqlite3.connect(":memory:", isolation_level=None), None)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _unusable(path, f"cannot create its folder: {exc.strerror or exc}") from None
    try:
        db = sqlite3.connect(path, isolation_level=None)
    except sqlite3.Error as exc:
        raise _unusable(path, str(exc)) from None
    return _prepare(db, path)


def _prepare(db: sqlite3.Connection, path: Path | None) -> sqlite3.Connection:
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            db.close()
            raise _unusable(
                path, f"it was written by a newer ocrpipe (schema {version}); upgrade ocrpipe"
            )
        db.executescript(
            f"BEGIN IMMEDIATE; {_SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
        )
    except sqlite3.Error as exc:
        db.close()
        raise _unusable(path, str(exc)) from None
    return db


def _unusable(path: Path | None, reason: str) -> SetupError:
    return SetupError(
        f"Cannot use {path} as the service's state file: {reason}. Give --state a SQLite "
        "file in a writable folder (created if absent), or --state none to keep usage "
        "counts and tokens in memory only"
    )
