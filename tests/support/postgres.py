"""PostgreSQL for tests: a fresh database per test on the server at 127.0.0.1:5432.

- `postgres_admin` (session): the URL of a database the test user may CREATE DATABASE
  from ($OCRPIPE_TEST_PG, else postgresql://postgres@127.0.0.1:5432/postgres, then the
  same as user root); the tests that need it skip, saying why, when no server answers.
- `postgres_url`: a new, empty database for one test, dropped after it.
- `store_url` (parametrized "sqlite" / "postgresql"): the state database a test runs
  on, an SQLite file in tmp_path or a fresh PostgreSQL database, so that one test
  checks both.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import make_url

CANDIDATES = (
    "postgresql://postgres@127.0.0.1:5432/postgres",
    "postgresql://root@127.0.0.1:5432/postgres",
)
TEST_DB_PREFIX = "ocrpipe_test_"


def _dsn(url: str) -> str:
    """An asyncpg DSN (no SQLAlchemy driver suffix)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _answers(url: str) -> str | None:
    """None when `url` accepts a connection, else why not."""
    try:
        conn = await asyncpg.connect(_dsn(url), timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return f"{exc.__class__.__name__}: {exc}"
    await conn.close()
    return None


def _find_server() -> str:
    chosen = os.environ.get("OCRPIPE_TEST_PG")
    reasons = []
    for url in (chosen,) if chosen else CANDIDATES:
        # a thread of its own: the fixture may be asked for from inside an event loop
        with ThreadPoolExecutor(1) as pool:
            why = pool.submit(asyncio.run, _answers(url)).result()
        if why is None:
            return url
        reasons.append(f"{make_url(url).render_as_string(hide_password=True)}: {why}")
    pytest.skip(
        "no PostgreSQL server answers (" + "; ".join(reasons) + "). Start one on "
        "127.0.0.1:5432 (.ci/run installs Debian's postgresql) or set OCRPIPE_TEST_PG"
    )


@pytest.fixture(scope="session")
def postgres_admin() -> str:
    return _find_server()


async def create_database(admin: str) -> str:
    """A new empty database on `admin`'s server; its postgresql:// URL."""
    name = TEST_DB_PREFIX + secrets.token_hex(6)
    conn = await asyncpg.connect(_dsn(admin))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return make_url(admin).set(database=name).render_as_string(hide_password=False)


async def drop_database(admin: str, url: str) -> None:
    name = make_url(url).database
    conn = await asyncpg.connect(_dsn(admin))
    try:
        # WITH (FORCE): a connection a failed test left open does not keep it
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture
async def postgres_url(postgres_admin: str) -> AsyncIterator[str]:
    url = await create_database(postgres_admin)
    try:
        yield url
    finally:
        await drop_database(postgres_admin, url)


@pytest.fixture(params=["sqlite", "postgresql"])
async def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield str(tmp_path / "state.db")
        return
    admin: str = request.getfixturevalue("postgres_admin")
    url = await create_database(admin)
    try:
        yield url
    finally:
        await drop_database(admin, url)
