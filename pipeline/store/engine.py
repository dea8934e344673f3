"""Which database the state store runs on: SQLite (a file, the default) or PostgreSQL.

`database_url` turns $OCRPIPE_DB (a path or a URL) into an SQLAlchemy async URL;
`make_engine` opens it with the settings each database wants; `describe` names it for a
message with any password hidden; `connect_error` says what to check when it does not
answer. The queries themselves are dialect-neutral SQLAlchemy Core (pipeline/store/).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from pipeline.errors import ConfigError

DEFAULT_DB = ".ocrpipe/state.db"

_POSTGRES_SCHEMES = ("postgresql://", "postgres://", "postgresql+asyncpg://")

PG_POOL_SIZE = 10
"""Connections one process keeps to PostgreSQL: its runs, the API and the lease
heartbeats share them (each store method is one short transaction)."""

CONNECT_TIMEOUT_S = 10.0

SCHEMA_LOCK = 0x6F637270  # "ocrp": the advisory lock held while the schema is made
CLAIM_LOCK = 0x6F637271  # held while a job is claimed from the queue


def database_url(value: str | None) -> str:
    """Turn OCRPIPE_DB (a path or a URL) into an SQLAlchemy async URL."""
    value = value or DEFAULT_DB
    if value.startswith(_POSTGRES_SCHEMES):
        rest = value.split("://", 1)[1]
        if not rest.strip("/"):
            raise ConfigError(
                "OCRPIPE_DB=postgresql:// names no server: use postgresql://USER@HOST[:PORT]/DB"
            )
        return "postgresql+asyncpg://" + rest
    if value.startswith("sqlite+aiosqlite://"):
        return value
    if value.startswith("sqlite://"):
        return "sqlite+aiosqlite://" + value.removeprefix("sqlite://")
    if "://" in value:
        raise ConfigError(
            f"OCRPIPE_DB={value.split('://')[0]}://... is not a known database: give a file "
            "path, sqlite:///PATH or postgresql://USER@HOST[:PORT]/DB"
        )
    path = Path(value).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite+aiosqlite:///{path}"


def is_postgres(url: str | URL) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


def describe(url: str | URL) -> str:
    """The URL as it may be shown: the password (if any) replaced by ***."""
    return make_url(url).render_as_string(hide_password=True)


def shown(value: str) -> str:
    """An OCRPIPE_DB value as a message may show it: a URL without its password."""
    return describe(value) if "://" in value else value


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: str) -> AsyncEngine:
    """An engine for `url` (from `database_url`)."""
    if is_postgres(url):
        # pre_ping: a connection the server dropped (a restart, a failover) is replaced
        # rather than failing the next transaction
        return create_async_engine(
            url, pool_size=PG_POOL_SIZE, max_overflow=PG_POOL_SIZE, pool_pre_ping=True,
            connect_args={"timeout": CONNECT_TIMEOUT_S},
        )
    # SQLite has one writer: one connection, rather than a pool whose connections wait
    # on each other's write lock (measured: 56 -> 67 pages/s through the whole pipeline)
    engine = create_async_engine(url, pool_size=1, max_overflow=0)
    event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


async def lock_schema(conn: AsyncConnection) -> None:
    """Make processes starting together make (or upgrade) the tables one after the
    other. On PostgreSQL a transaction-scoped advisory lock; on SQLite the write lock,
    taken up front (BEGIN IMMEDIATE): Python's sqlite3 opens no transaction before DDL,
    so two first opens would otherwise both run CREATE TABLE. Call it first thing in
    the transaction."""
    if conn.dialect.name == "sqlite":
        await conn.exec_driver_sql("BEGIN IMMEDIATE")
        return
    await take_turn(conn, SCHEMA_LOCK)


async def take_turn(conn: AsyncConnection, lock: int) -> None:
    """On PostgreSQL, wait for a transaction-scoped advisory lock: transactions that
    take `lock` run one after the other, each seeing what the one before committed (a
    job claimed by another `ocrpipe up` is neither taken again nor left for a claim that
    comes back empty). Nothing on SQLite, whose writers already take turns."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock})


def connect_error(url: str, exc: BaseException) -> ConfigError:
    """A message for a database that cannot be opened: what it is, what went wrong and
    what to check; never the password."""
    parsed = make_url(url)
    reason = f"{exc.__class__.__name__}: {exc}"
    if parsed.password:
        reason = reason.replace(str(parsed.password), "***")
    if not is_postgres(parsed):
        return ConfigError(f"cannot open the state database: {reason}")
    where = f"{parsed.host or 'localhost'}:{parsed.port or 5432}"
    return ConfigError(
        f"cannot open the PostgreSQL state database {describe(parsed)}: {reason}. Check that "
        f"the server answers (pg_isready -h {parsed.host or 'localhost'} -p "
        f"{parsed.port or 5432}), that database {parsed.database!r} exists (createdb -h "
        f"{parsed.host or 'localhost'} {parsed.database}) and that user "
        f"{parsed.username!r} may connect to it from this host ({where}); set OCRPIPE_DB "
        "to another URL otherwise"
    )
