"""Re-runs over a local folder: an untouched file is not read again (its recorded content
hash holds while its fingerprint does), a touched one is hashed but not sent again when its
content is the same, a rewritten one is sent again, and a state database made before the
fingerprint column existed still opens.

Each run is the runner's listing stage over the testing kit's `job_context` (SQLite, the
fake recognizer, the real ledger hook) with a `LocalStorage` whose `hasher` counts what it
reads; every output is checked against its own input.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from pipeline.config import parse_job
from pipeline.context import Counts
from pipeline.runner import process_listing
from pipeline.storage.local import LocalStorage, content_hash
from pipeline.store import open_store
from pipeline.testing import job_context, make_page
from tests.support.outputs import echoed, page_texts

DOCUMENTS = 4


@dataclass
class Run:
    counts: Counts
    sent: list[str]
    """What the recognizer answered, one text per page sent."""


class Folder:
    """The job's input folder, its outputs, and every file its storage hashed."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.inputs = tmp / "in"
        self.inputs.mkdir()
        for n in range(DOCUMENTS):
            make_page(f"doc{n}", (320, 160)).save(self.inputs / f"doc{n}.png")
        self.spec = parse_job(
            f'name = "rerun"\n[source]\nurl = "{self.inputs}"\n'
            f'[output]\nurl = "{tmp / "out"}"\n'
        )
        self.hashed: list[str] = []

    def _hash(self, path: str) -> str | None:
        self.hashed.append(os.path.basename(path))
        return content_hash(path)

    async def run(self) -> Run:
        source = LocalStorage(str(self.inputs), hasher=self._hash)
        async with job_context(self.spec, self.tmp / "state.db", source=source) as ctx:
            await process_listing(ctx)
            return Run(ctx.counts, list(ctx.ocr.answered))

    def outputs(self) -> dict[str, list[str]]:
        return {f"doc{n}.png": page_texts(self.tmp / "out", f"doc{n}.png")
                for n in range(DOCUMENTS)}


def expected_outputs(**tags: str) -> dict[str, list[str]]:
    """Each document's output: its own tag, unless `tags` says it was repainted."""
    return {f"doc{n}.png": echoed([tags.get(f"doc{n}", f"doc{n}")]) for n in range(DOCUMENTS)}


async def test_untouched_files_are_not_read_touched_ones_hashed_rewritten_ones_sent(
    tmp_path: Path,
) -> None:
    folder = Folder(tmp_path)
    first = await folder.run()
    assert first.counts.documents_done == DOCUMENTS
    assert sorted(folder.hashed) == [f"doc{n}.png" for n in range(DOCUMENTS)]
    assert sorted(first.sent) == echoed([f"doc{n}" for n in range(DOCUMENTS)])
    assert folder.outputs() == expected_outputs()

    folder.hashed.clear()
    again = await folder.run()
    assert again.counts.documents_skipped == DOCUMENTS and folder.hashed == []  # nothing read
    assert again.sent == []

    (folder.inputs / "doc1.png").touch()  # new mtime, same content
    rewritten = folder.inputs / "doc2.png"
    before = rewritten.stat()
    make_page("doc2-new", (320, 160)).save(rewritten)  # new content, same mtime
    os.utime(rewritten, ns=(before.st_atime_ns, before.st_mtime_ns))
    folder.hashed.clear()
    third = await folder.run()
    assert sorted(folder.hashed) == ["doc1.png", "doc2.png"]
    assert third.counts.documents_skipped == DOCUMENTS - 1 and third.counts.pages_sent == 1
    assert third.sent == echoed(["doc2-new"])
    assert folder.outputs() == expected_outputs(doc2="doc2-new")

    folder.hashed.clear()
    fourth = await folder.run()  # the touched file's new stat is kept
    assert fourth.counts.documents_skipped == DOCUMENTS and folder.hashed == []


async def test_a_state_database_without_the_fingerprint_column_is_upgraded(
    tmp_path: Path,
) -> None:
    folder = Folder(tmp_path)
    await folder.run()
    db = tmp_path / "state.db"
    with sqlite3.connect(db) as conn:  # as an earlier version left it: no revision either
        conn.execute("ALTER TABLE documents DROP COLUMN fingerprint")
        conn.execute("DROP TABLE alembic_version")
    store = await open_store(str(db))
    await store.close()
    with sqlite3.connect(db) as conn:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(documents)")]
        assert "fingerprint" in columns
        assert conn.execute("SELECT count(*) FROM documents WHERE fingerprint IS NULL"
                            ).fetchone() == (DOCUMENTS,)

    folder.hashed.clear()
    again = await folder.run()
    assert again.counts.documents_skipped == DOCUMENTS
    assert len(folder.hashed) == DOCUMENTS  # hashed once
    assert again.sent == []  # nothing sent again
    folder.hashed.clear()
    await folder.run()
    assert folder.hashed == []
    assert folder.outputs() == expected_outputs()
