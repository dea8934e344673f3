"""Re-runs over a local folder: an untouched file is not read again (its recorded content
hash holds while its fingerprint does), a touched one is hashed but not sent again when its
content is the same, a rewritten one is sent again, and a state database made before the
fingerprint column existed still opens."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from pipeline.config import parse_job
from pipeline.runner import run_job
from pipeline.storage import local as local_module
from pipeline.store import open_store
from pipeline.testing import FakeOcrServer
from tests.support.inputs import text_page
from tests.support.jobs import image_job

DOCUMENTS = 4


@pytest.fixture
def hashed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths whose content the local storage hashes, in order."""
    paths: list[str] = []
    real = local_module._content_hash

    def counting(path: str) -> str | None:
        paths.append(os.path.basename(path))
        return real(path)

    monkeypatch.setattr(local_module, "_content_hash", counting)
    return paths


def job(tmp: Path, server: FakeOcrServer, monkeypatch: pytest.MonkeyPatch) -> str:
    return image_job(tmp, server, monkeypatch, name="rerun", documents=DOCUMENTS)


async def test_untouched_files_are_not_read_touched_ones_hashed_rewritten_ones_sent(
    tmp_path: Path, server: FakeOcrServer, monkeypatch: pytest.MonkeyPatch, hashed: list[str]
) -> None:
    spec = parse_job(job(tmp_path, server, monkeypatch))
    first = await run_job(spec)
    assert first.documents_done == DOCUMENTS and sorted(hashed) == [
        f"doc{n}.png" for n in range(DOCUMENTS)
    ]

    hashed.clear()
    again = await run_job(spec)
    assert again.documents_skipped == DOCUMENTS and hashed == []  # nothing read
    assert server.call_count == DOCUMENTS

    inputs = tmp_path / "in"
    (inputs / "doc1.png").touch()  # new mtime, same content
    rewritten = inputs / "doc2.png"
    before = rewritten.stat()
    text_page(["Document X"], size=(320, 120)).save(rewritten)  # new content, same mtime
    os.utime(rewritten, ns=(before.st_atime_ns, before.st_mtime_ns))
    hashed.clear()
    third = await run_job(spec)
    assert sorted(hashed) == ["doc1.png", "doc2.png"]
    assert third.documents_skipped == DOCUMENTS - 1 and third.pages_sent == 1
    assert server.call_count == DOCUMENTS + 1

    hashed.clear()
    fourth = await run_job(spec)  # the touched file's new stat is kept
    assert fourth.documents_skipped == DOCUMENTS and hashed == []


async def test_a_state_database_without_the_fingerprint_column_is_upgraded(
    tmp_path: Path, server: FakeOcrServer, monkeypatch: pytest.MonkeyPatch, hashed: list[str]
) -> None:
    spec = parse_job(job(tmp_path, server, monkeypatch))
    await run_job(spec)
    db = tmp_path / "state.db"
    with sqlite3.connect(db) as conn:  # as an earlier version left it
        conn.execute("ALTER TABLE documents DROP COLUMN fingerprint")
    store = await open_store(str(db))
    await store.close()
    with sqlite3.connect(db) as conn:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(documents)")]
        assert "fingerprint" in columns
        assert conn.execute("SELECT count(*) FROM documents WHERE fingerprint IS NULL"
                            ).fetchone() == (DOCUMENTS,)

    hashed.clear()
    summary = await run_job(spec)
    assert summary.documents_skipped == DOCUMENTS and len(hashed) == DOCUMENTS  # hashed once
    assert server.call_count == DOCUMENTS  # nothing sent again
    hashed.clear()
    await run_job(spec)
    assert hashed == []
