"""Alembic's environment for the state store: SQLite (aiosqlite) and PostgreSQL (asyncpg).

Given a connection in `config.attributes["connection"]` (what `ocrpipe db upgrade`
does, inside its own transaction and schema lock) it runs on that; else it opens an
async engine on `-x url=...`, else $OCRPIPE_DB, and runs there.
"""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy import Connection

from pipeline.store.engine import database_url, lock_schema, make_engine
from pipeline.store.schema import metadata

# every table the code uses is on `metadata` once the store package is imported
# (schedules, billing tables): autogenerate compares against all of them
import pipeline.store  # noqa: F401  isort: skip


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection, target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite's ALTER is limited
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_on_own_engine() -> None:
    url = context.get_x_argument(as_dictionary=True).get("url") or os.environ.get("OCRPIPE_DB")
    engine = make_engine(database_url(url))
    try:
        async with engine.begin() as conn:
            await lock_schema(conn)
            await conn.run_sync(_run)
    finally:
        await engine.dispose()


given = context.config.attributes.get("connection")
if given is not None:
    _run(given)
else:
    asyncio.run(_run_on_own_engine())
