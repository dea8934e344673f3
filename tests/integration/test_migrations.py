"""`ocrpipe db upgrade` (issue 17): Alembic migrations on SQLite and PostgreSQL.

An empty database is brought to the newest revision and then matches the tables the
code uses (pipeline/store/schema.py) exactly; running it again changes nothing; a state
file made by an early release (no `fingerprint`, no job queue) is upgraded in place with
its rows kept; a database that `open_store` made is stamped without change.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner, Result
from sqlalchemy import Connection

from pipeline.cli import main
from pipeline.store import open_store
from pipeline.store.engine import database_url, make_engine
from pipeline.store.migrate import current, head, upgrade
from pipeline.store.schema import metadata


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def schema_differences(url: str) -> list[object]:
    engine = make_engine(database_url(url))
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_differences)
    finally:
        await engine.dispose()


async def test_an_empty_database_upgrades_to_the_schema_the_code_uses(store_url: str) -> None:
    first = await upgrade(store_url)
    assert (first.before, first.after) == (None, head())
    assert await schema_differences(store_url) == []
    again = await upgrade(store_url)
    assert (again.before, again.after) == (head(), head())
    store = await open_store(store_url)  # and the store opens on it as before
    try:
        assert await store.start_run("j") >= 1
    finally:
        await store.close()


async def test_a_database_open_store_made_is_stamped_unchanged(store_url: str) -> None:
    store = await open_store(store_url)
    await store.start_run("j")
    await store.close()
    assert (await current(store_url)).after is None
    done = await upgrade(store_url)
    assert done.after == head() and await schema_differences(store_url) == []


OLD_SCHEMA = """
CREATE TABLE runs (id INTEGER NOT NULL, job VARCHAR(200) NOT NULL,
    started_at DATETIME NOT NULL, finished_at DATETIME, status VARCHAR(20) NOT NULL,
    exit_code INTEGER, PRIMARY KEY (id));
CREATE TABLE documents (id INTEGER NOT NULL, job VARCHAR(200) NOT NULL, key TEXT NOT NULL,
    change_token VARCHAR(200), status VARCHAR(20) NOT NULL, page_count INTEGER, error TEXT,
    outputs TEXT, updated_at DATETIME NOT NULL, PRIMARY KEY (id),
    CONSTRAINT uq_documents_job_key UNIQUE (job, key));
INSERT INTO documents VALUES (1, 'old', 'a.pdf', 't1', 'done', 2, NULL, '["/o/a.pdf.txt"]',
    '2025-01-02 03:04:05.000000');
"""
"""A state file as the first release left it: no fingerprint column, no job queue."""


async def test_an_old_sqlite_state_file_upgrades_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(OLD_SCHEMA)
    # the CLI runs its own event loop: a thread of its own
    result = await asyncio.to_thread(cli, "db", "upgrade", "--state", str(path))
    assert result.exit_code == 0, result.output
    assert f"upgraded from no revision to {head()}" in result.output
    assert await schema_differences(str(path)) == []
    store = await open_store(str(path))
    try:
        state = await store.document("old", "a.pdf")
    finally:
        await store.close()
    assert state is not None and state.status == "done" and state.page_count == 2
    assert state.outputs == ("/o/a.pdf.txt",) and state.fingerprint is None
    shown = await asyncio.to_thread(cli, "db", "current", "--state", str(path))
    assert shown.exit_code == 0 and f"revision {head()} (newest: {head()})" in shown.output


def test_a_postgres_url_that_cannot_connect_says_so_without_the_password() -> None:
    from pipeline.testing.server import free_port

    url = f"postgresql://ocr:s3cret-pw@127.0.0.1:{free_port()}/ocr"
    result = CliRunner().invoke(main, ["db", "upgrade", "--state", url])
    assert result.exit_code == 2
    assert "s3cret-pw" not in result.output and "pg_isready -h 127.0.0.1" in result.output
