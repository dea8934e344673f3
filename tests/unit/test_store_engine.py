"""Which database OCRPIPE_DB names, and what a PostgreSQL URL that cannot connect says:
what to check, never the password."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import make_url

from pipeline.errors import ConfigError
from pipeline.store import database_url, open_store
from pipeline.store.engine import describe
from pipeline.testing.server import free_port


def test_postgres_urls_go_through_asyncpg_and_paths_stay_sqlite(tmp_path: Path) -> None:
    assert database_url("postgresql://u@db.example/ocr") == "postgresql+asyncpg://u@db.example/ocr"
    assert database_url("postgres://u@h:6543/x") == "postgresql+asyncpg://u@h:6543/x"
    assert database_url(str(tmp_path / "s.db")) == f"sqlite+aiosqlite:///{tmp_path / 's.db'}"
    with pytest.raises(ConfigError, match=r"mysql://\.\.\. is not a known database"):
        database_url("mysql://u@h/x")
    assert describe("postgresql+asyncpg://u:hunter22@h/x") == "postgresql+asyncpg://u:***@h/x"


async def test_a_postgres_server_that_does_not_answer_says_what_to_check() -> None:
    port = free_port()  # nothing listens there
    with pytest.raises(ConfigError) as raised:
        await open_store(f"postgresql://ocr:hunter22@127.0.0.1:{port}/ocrdb")
    message = str(raised.value)
    assert "hunter22" not in message
    assert f"pg_isready -h 127.0.0.1 -p {port}" in message
    assert "'ocrdb'" in message and "OCRPIPE_DB" in message


async def test_a_missing_postgres_database_names_it(postgres_admin: str) -> None:
    with pytest.raises(ConfigError, match=r"createdb -h 127.0.0.1 no_such_ocrpipe_db"):
        await open_store(postgres_admin.rsplit("/", 1)[0] + "/no_such_ocrpipe_db")


async def test_report_on_postgres_never_shows_the_password(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from pipeline.cli import main
    from pipeline.models import UsageRecord

    # trust authentication takes any password: the URL carries one, as a user's might
    url = make_url(postgres_url).set(password="pw-do-not-show").render_as_string(False)
    store = await open_store(url)
    try:
        await store.start_attempt(UsageRecord(
            job="shown", doc_key="a.png", page_index=0, enterprise_project="default",
            api="general-text", attempt=1, bytes_sent=10))
    finally:
        await store.close()
    monkeypatch.setenv("OCRPIPE_DB", url)
    for args in (["report"], ["report", "--job", "missing"]):
        result = await asyncio.to_thread(CliRunner().invoke, main, args)
        assert "pw-do-not-show" not in result.output, result.output
        assert "postgres:***@" in result.output
    assert (await asyncio.to_thread(CliRunner().invoke, main, ["report"])).exit_code == 0
