"""`stored_pages`: a job's saved pages in document and page order, read a batch at a time
(keyset paging), with one record per failed document after its saved pages; documents
of other jobs left out. Batches of 2 make every boundary case happen: a document's pages
split across batches, a failed document without pages at a batch's end."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.models import OcrResult, PageResult, SourceObject
from pipeline.store import open_store
from pipeline.store.results import stored_pages


def page(index: int, raw: object) -> PageResult:
    return PageResult(index, OcrResult((), 10, 10, request_id=f"r{index}", raw=raw))


@pytest.mark.parametrize("batch", [1, 2, 3, 200])
async def test_pages_in_order_failures_after_their_pages(tmp_path: Path, batch: int) -> None:
    store = await open_store(str(tmp_path / "state.db"))
    try:
        layout = {"a.pdf": (3, None), "b.png": (0, "unreadable"), "c.pdf": (2, "page 3: AIS"),
                  "d.png": (1, None)}
        for key, (count, error) in layout.items():
            doc = await store.begin_document("job", SourceObject(key, key, 1))
            for index in reversed(range(count)):
                await store.save_page(doc, page(index, {"k": f"{key}#{index}"}),
                                      change_token=None)
            await store.finish_document(doc, status="failed" if error else "done",
                                        error=error, page_count=count)
        other = await store.begin_document("other", SourceObject("a.pdf", "a.pdf", 1))
        await store.save_page(other, page(0, {"k": "other"}), change_token=None)

        seen = [(s.key, s.page, s.error, (s.result or {}).get("result"))
                async for s in stored_pages(store, "job", batch=batch)]
    finally:
        await store.close()
    assert seen == [
        ("a.pdf", 0, "", {"k": "a.pdf#0"}), ("a.pdf", 1, "", {"k": "a.pdf#1"}),
        ("a.pdf", 2, "", {"k": "a.pdf#2"}),
        ("b.png", None, "unreadable", None),
        ("c.pdf", 0, "", {"k": "c.pdf#0"}), ("c.pdf", 1, "", {"k": "c.pdf#1"}),
        ("c.pdf", None, "page 3: AIS", None),
        ("d.png", 0, "", {"k": "d.png#0"}),
    ]
