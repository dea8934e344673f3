"""The state database's schema, through Alembic migrations only: `open_store` and
`ocrpipe db upgrade` both bring a database to the newest revision (`to_head`).

The revisions are Alembic migrations shipped in the package (pipeline/store/migrations/).
The first, the baseline, is idempotent, so that an SQLite state file made before
migrations existed is upgraded in place and stamped; after it, each revision runs once.
The whole upgrade is one transaction under the schema lock (`lock_schema`: an advisory
lock on PostgreSQL, SQLite's write lock taken up front), so two processes opening a
fresh database at once take turns and the second finds the tables made. `open_store`
comes here only when its cheap check (pipeline/store/revision.py: one read of
`alembic_version`, Alembic not imported) finds the database behind.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from pipeline.errors import ConfigError
from pipeline.store.engine import connect_error, database_url, describe, lock_schema, make_engine

MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass(frozen=True)
class Upgrade:
    database: str
    """The database, as it may be shown (no password)."""
    before: str | None
    """Its revision before (None: never migrated, or empty)."""
    after: str | None


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@functools.cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def head() -> str | None:
    """The newest revision this version of ocrpipe ships (read once per process)."""
    return _scripts().get_current_head()


def _revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _upgrade(connection: Connection) -> tuple[str | None, str | None]:
    before = _revision(connection)
    if before is not None and not _known(before):
        raise NewerSchema(before)
    if before != head():
        command.upgrade(_config(connection), "head")
    return before, _revision(connection)


def _known(revision: str) -> bool:
    try:
        return _scripts().get_revision(revision) is not None
    except CommandError:
        return False


class NewerSchema(ConfigError):
    def __init__(self, revision: str) -> None:
        super().__init__(
            f"the state database is at schema revision {revision}, which this ocrpipe does "
            f"not know (its newest is {head()}): a newer ocrpipe upgraded it. Run that "
            "version, or point OCRPIPE_DB at another database")


async def to_head(engine: AsyncEngine) -> Upgrade:
    """Bring the database behind `engine` to `head()`: first a read of its revision
    (nothing more when it is there already), else the upgrade under the schema lock,
    which reads the revision again (another process may have just done it)."""
    async with engine.connect() as conn:
        now = await conn.run_sync(_revision)
    if now == head():
        return Upgrade(describe(engine.url), now, now)
    async with engine.begin() as conn:
        await lock_schema(conn)
        before, after = await conn.run_sync(_upgrade)
    return Upgrade(describe(engine.url), before, after)


async def upgrade(url: str | None = None) -> Upgrade:
    """Upgrade the database `url` names (else $OCRPIPE_DB) to `head()`."""
    address = database_url(url or os.environ.get("OCRPIPE_DB"))
    engine = make_engine(address)
    try:
        return await to_head(engine)
    except (SQLAlchemyError, OSError) as exc:
        raise connect_error(address, exc) from None
    finally:
        await engine.dispose()


async def current(url: str | None = None) -> Upgrade:
    """The database's revision, changing nothing."""
    address = database_url(url or os.environ.get("OCRPIPE_DB"))
    engine = make_engine(address)
    try:
        async with engine.connect() as conn:
            revision = await conn.run_sync(_revision)
    except (SQLAlchemyError, OSError) as exc:
        raise connect_error(address, exc) from None
    finally:
        await engine.dispose()
    return Upgrade(describe(address), revision, revision)
