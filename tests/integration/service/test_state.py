"""The service's state file (`ocrpipe serve --state`): usage counts and tokens survive a
restart; tokens are stored only as hashes; memory-only mode writes no file; a bad path is a
SetupError (exit 2 from the CLI). Real services, started and stopped on the same file.
"""

from __future__ import annotations

import logging
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pytest

from pipeline.service.apierror import SetupError
from pipeline.service.auth import load_auth
from pipeline.service.authfile import hash_password, project_id_for
from pipeline.service.server import ServiceConfig, running_service
from pipeline.service.statedb import open_state
from pipeline.testing import make_page
from tests.support.service import (
    ADMIN_KEY,
    PASSWORD,
    PROJECT,
    OcrService,
    ServiceThread,
    b64,
    call,
    get_token,
    png,
    usage,
)

AK, SK = "STATEAK", "state-secret"


@pytest.fixture(scope="module")
def auth_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("auth") / "auth.toml"
    cheap = hash_password(PASSWORD, iterations=1000)
    path.write_text(
        f'[[credentials]]\nak = "{AK}"\nsk = "{SK}"\n'
        + f'[[users]]\nname = "alice"\ndomain = "acme"\npassword_hash = "{cheap}"\n'
        + f'projects = ["{PROJECT}"]\n'
        + f'[admin]\nkey_hash = "{hash_password(ADMIN_KEY, iterations=1000)}"\n'
    )
    path.chmod(0o600)
    return path


@contextmanager
def service(auth_file: Path, state: Path | None) -> Iterator[OcrService]:
    config = ServiceConfig(port=0, workers=1, engine="scripted", auth=load_auth(auth_file, {}),
                           state=state)
    thread = ServiceThread(config)
    url = thread.start()
    try:
        yield OcrService(url=url, ak=AK, sk=SK, project_id=project_id_for(PROJECT))
    finally:
        thread.stop()


def counts(body: Any) -> dict[tuple[str, str], int]:
    return {(r["enterprise_project_id"], r["api"]): r["calls"] for r in body["usage"]}


async def test_usage_and_tokens_survive_a_restart(
    tmp_path: Path, auth_file: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    state = tmp_path / "new-folder" / "service.db"
    image = {"image": b64(png(make_page("bill-me", (160, 80))))}
    finance = {"Enterprise-Project-Id": "finance"}
    with caplog.at_level(logging.INFO, "pipeline.service"), service(auth_file, state) as first:
        status, token, _ = await get_token(first)
        assert status == 201 and token
        assert (await call(first, image, headers=finance)).status == 200
        assert (await call(first, image, sign=False, headers={"X-Auth-Token": token})
                ).status == 200
        assert (await call(first, {"image": "!!"}, headers=finance)).status == 400  # not billed
        _, before = await usage(first)
    assert counts(before) == {("finance", "general-text"): 1, ("default", "general-text"): 1}
    assert f"usage and tokens kept in {state}" in caplog.text

    stored = b"".join(path.read_bytes() for path in state.parent.iterdir())
    assert token.encode() not in stored and token[3:].encode() not in stored
    with closing(sqlite3.connect(state)) as db:
        assert db.execute("SELECT user, project_name FROM tokens").fetchall() == [
            ("acme/alice", PROJECT)
        ]

    with service(auth_file, state) as second:
        status, after = await usage(second)
        assert status == 200 and after == before
        again = await call(second, image, sign=False, headers={"X-Auth-Token": token, **finance})
        assert again.status == 200, again.body
        _, after = await usage(second)
    assert counts(after) == {("finance", "general-text"): 2, ("default", "general-text"): 1}
    assert after["total_calls"] == 3


async def test_memory_only_state_still_counts_and_writes_no_file(
    tmp_path: Path, auth_file: Path,
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.chdir(tmp_path)
    image = {"image": b64(png(make_page("once", (160, 80))))}
    with caplog.at_level(logging.INFO, "pipeline.service"), service(auth_file, None) as memory:
        _, token, _ = await get_token(memory)
        assert (await call(memory, image, sign=False, headers={"X-Auth-Token": token})
                ).status == 200
        assert counts((await usage(memory))[1]) == {("default", "general-text"): 1}
    assert "usage and tokens kept in memory only" in caplog.text
    assert list(tmp_path.iterdir()) == []


async def test_a_bad_state_path_is_a_config_error(tmp_path: Path) -> None:
    not_sqlite = tmp_path / "notes.txt"
    not_sqlite.write_bytes(b"these are notes, not a database" * 100)
    blocking_file = tmp_path / "a-file"
    blocking_file.write_text("")
    newer = tmp_path / "newer.db"
    with closing(sqlite3.connect(newer)) as db:
        db.execute("PRAGMA user_version = 99")

    for bad, reason in [
        (not_sqlite, "not a database"),
        (blocking_file / "service.db", "cannot create its folder"),
        (tmp_path, "unable to open"),
        (newer, "newer ocrpipe"),
    ]:
        with pytest.raises(SetupError, match=reason) as caught:
            open_state(bad)
        assert "--state none" in str(caught.value)
    config = ServiceConfig(port=0, auth_required=False, state=not_sqlite)
    with pytest.raises(SetupError, match="not a database"):
        async with running_service(config):
            pass  # pragma: no cover


def test_serve_exits_2_on_a_bad_state_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"\x00garbage" * 100)
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "serve", "--no-auth", "--port", "0",
         "--state", str(bad)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "--state none" in result.stderr
