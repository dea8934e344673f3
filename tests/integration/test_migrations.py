"""One schema path (issue 17): Alembic migrations, run by `open_store` and by
`ocrpipe db upgrade`, on SQLite and PostgreSQL.

An empty database is brought to the newest revision and then matches the tables the
code uses (pipeline/store/schema.py, the schedules and billing tables) exactly; running
it again changes nothing; a state file made by an early release (no `fingerprint`, no
job queue) is upgraded in place with its rows kept; a database the previous release's
`open_store` made (create_all, billing tables made on first use, 32-bit ids, no
revision) is upgraded in place by `open_store`; first opens at the same time take
turns; ids pass 2^31.
"""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import alembic.command
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner, Result
from sqlalchemy import (
    Column,
    Connection,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    inspect,
    text,
)

from pipeline.billing.calls import load_calls, record_run_region
from pipeline.cli import main
from pipeline.errors import ConfigError
from pipeline.models import SourceObject, UsageRecord
from pipeline.store import open_store
from pipeline.store.engine import database_url, make_engine
from pipeline.store.migrate import current, head, upgrade
from pipeline.store.migrations.versions import r0001_baseline as baseline
from pipeline.store.migrations.versions import r0002_schedules as schedules_revision
from pipeline.store.revision import HEAD
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


async def test_open_store_makes_every_table_the_code_uses(store_url: str) -> None:
    store = await open_store(store_url)
    try:
        async with store.engine.connect() as conn:
            made = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        # the billing tables too, which billing no longer makes on first use
        assert set(metadata.tables) <= made
        assert {"deductions", "run_regions", "billing_alerts"} <= made
        run_id = await store.start_run("j")
        await record_run_region(store, run_id, "cn-north-4")
        assert [c.region for c in await load_calls(store)] == []
    finally:
        await store.close()
    assert (await current(store_url)).after == head()
    assert await schema_differences(store_url) == []


async def test_a_database_the_previous_release_made_is_upgraded_by_open_store(
    store_url: str,
) -> None:
    engine = make_engine(database_url(store_url))
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_previous_release)
    finally:
        await engine.dispose()
    assert (await current(store_url)).after is None
    store = await open_store(store_url)
    try:
        state = await store.document("old", "a.pdf")
        assert state is not None and state.status == "done"
        async with store.engine.connect() as conn:
            kept = (await conn.execute(text("SELECT paid_by FROM deductions"))).scalars().all()
        assert kept == ["package"]
    finally:
        await store.close()
    assert (await current(store_url)).after == head()
    assert await schema_differences(store_url) == []


def _previous_release(conn: Connection) -> None:
    """The tables as ocrpipe made them before this revision: `open_store`'s create_all
    of the r0001 and r0002 tables, and billing's deductions table made on first use
    with a 32-bit key; no alembic_version."""
    baseline.BASELINE.create_all(conn)
    schedules_revision.TABLES.create_all(conn)
    old_billing = MetaData()
    Table("deductions", old_billing, Column("usage_id", Integer, primary_key=True),
          Column("paid_by", String(20), nullable=False), Column("package", String(200)),
          Column("cost", Float), Column("month", String(7), nullable=False),
          Column("region", String(64)))
    old_billing.create_all(conn)
    conn.execute(text("INSERT INTO documents (job, key, change_token, status, outputs, "
                      "updated_at) VALUES ('old', 'a.pdf', 't1', 'done', '[]', :at)"),
                 {"at": datetime(2025, 1, 2, tzinfo=UTC)})
    conn.execute(text("INSERT INTO deductions (usage_id, paid_by, month) "
                      "VALUES (7, 'package', '2025-01')"))


async def test_first_opens_at_the_same_time_take_turns(store_url: str) -> None:
    """Four stores opening one fresh database at once (each its own engine and
    connection): one makes the tables under the schema lock, the others wait for it
    and find them made; without the lock two CREATE TABLEs collide."""
    stores = await asyncio.gather(*(open_store(store_url) for _ in range(4)))
    try:
        ids = [await store.start_run(f"j{n}") for n, store in enumerate(stores)]
    finally:
        for store in stores:
            await store.close()
    assert len(set(ids)) == 4
    assert (await current(store_url)).after == head()


async def test_an_open_at_the_newest_revision_runs_no_migration(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await (await open_store(store_url)).close()

    def refused(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("Alembic's upgrade ran on a database already at head")

    monkeypatch.setattr(alembic.command, "upgrade", refused)
    store = await open_store(store_url)
    await store.close()


async def test_a_database_from_a_newer_ocrpipe_is_refused_saying_why(store_url: str) -> None:
    await (await open_store(store_url)).close()
    engine = make_engine(database_url(store_url))
    try:
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = '9999z'"))
    finally:
        await engine.dispose()
    with pytest.raises(ConfigError, match="revision 9999z, which this ocrpipe does not know"):
        await open_store(store_url)


async def test_ids_pass_two_to_the_31st(store_url: str) -> None:
    """The growing tables count in 64 bits on both databases."""
    big = 2**31 + 5
    store = await open_store(store_url)
    try:
        async with store.engine.begin() as conn:
            await conn.execute(text(
                "INSERT INTO runs (id, job, started_at, status) VALUES (:id, 'old', :at, 'done')"
            ), {"id": big, "at": datetime(2025, 1, 1, tzinfo=UTC)})
            if conn.dialect.name == "postgresql":  # the sequences go on from there
                for table in ("runs", "usage", "documents"):
                    await conn.execute(text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), :n)"
                    ), {"n": big})
        run_id = await store.start_run("j")
        attempt = await store.start_attempt(UsageRecord(
            job="j", doc_key="a.pdf", page_index=0, enterprise_project="p",
            api="general-text", attempt=1, bytes_sent=1), run_id)
        doc_id = await store.begin_document("j", SourceObject(key="a.pdf", url="/a.pdf", size=1,
                                                              change_token="t"), new=True)
    finally:
        await store.close()
    assert run_id > big and (store_url.endswith(".db") or (attempt > big and doc_id > big))


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


def test_the_migrations_have_one_head() -> None:
    """Revisions added side by side off one parent must be chained (or merged) before
    release: with two heads `open_store` would not know which schema is the newest."""
    from alembic.script import ScriptDirectory

    from pipeline.store.migrate import MIGRATIONS

    scripts = ScriptDirectory(str(MIGRATIONS))
    assert len(scripts.get_heads()) == 1, scripts.get_heads()
    # and open_store's cheap check knows it (pipeline/store/revision.py)
    assert scripts.get_current_head() == HEAD
