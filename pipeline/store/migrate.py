"""`ocrpipe db upgrade`: bring a state database to the newest schema revision.

The revisions are Alembic migrations shipped in the package (pipeline/store/migrations/).
The first, the baseline, is idempotent, so that an SQLite state file made before
migrations existed (or a database `open_store` made) is upgraded in place and stamped;
after it, each revision runs once. The whole upgrade is one transaction, under the
schema lock on PostgreSQL (two processes upgrading at once take turns).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

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


def head() -> str | None:
    """The newest revision this version of ocrpipe ships."""
    return ScriptDirectory.from_config(_config()).get_current_head()


def _revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _upgrade(connection: Connection) -> tuple[str | None, str | None]:
    before = _revision(connection)
    command.upgrade(_config(connection), "head")
    return before, _revision(connection)


async def upgrade(url: str | None = None) -> Upgrade:
    """Upgrade the database `url` names (else $OCRPIPE_DB) to `head()`."""
    address = database_url(url or os.environ.get("OCRPIPE_DB"))
    engine = make_engine(address)
    try:
        async with engine.begin() as conn:
            await lock_schema(conn)
            before, after = await conn.run_sync(_upgrade)
    except (SQLAlchemyError, OSError) as exc:
        raise connect_error(address, exc) from None
    finally:
        await engine.dispose()
    return Upgrade(describe(address), before, after)


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
