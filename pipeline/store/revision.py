"""Is the state database at the newest schema revision? Answered with one small read of
`alembic_version`, without importing Alembic (half a second of start-up on a loaded
machine): `open_store` runs the migrations (pipeline/store/migrate.py) only when the
answer is no.

`HEAD` names the newest revision in pipeline/store/migrations/versions/; a test checks
it against Alembic's own reading of the scripts, so a new revision that forgets to move
it fails the tests rather than re-running the upgrade check on every open.
"""

from __future__ import annotations

from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

HEAD = "0003a"
"""The newest revision (`revision` of the last script in migrations/versions/)."""

VERSION_TABLE = "alembic_version"


def _stored(conn: Connection) -> str | None:
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    return conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


async def at_head(engine: AsyncEngine) -> bool:
    """True when the database's stored revision is `HEAD`."""
    async with engine.connect() as conn:
        return await conn.run_sync(_stored) == HEAD
