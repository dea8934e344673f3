"""`process_document` directly, over the testing kit's `job_context` (local storages,
SQLite, a thread pool, the fake recognizer wired to the real ledger hook): pages come back
in order with their own text, a stopped document resumes without sending a finished page
again, a failed page fails its document, an unchanged document is skipped."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from pipeline.config import JobSpec, parse_job
from pipeline.document import process_document
from pipeline.errors import PageOcrError
from pipeline.models import Block, DocumentResult, OcrRequest, OcrResult, PageResult, SourceObject
from pipeline.testing import FakeRecognizer, job_context, tagged_pdf
from pipeline.writers import WRITERS, WriteOptions
from tests.support.outputs import echoed, page_texts, txt_pages

TAGS = [f"book-p{n}" for n in range(1, 7)]


def spec_for(tmp: Path) -> JobSpec:
    return parse_job(
        f'name = "direct"\n[source]\nurl = "{tmp / "in"}"\n'
        f'[ocr]\nconcurrency = 2\n[output]\nurl = "{tmp / "out"}"\n'
    )


async def listed(spec: JobSpec, tmp: Path) -> SourceObject:
    async with job_context(spec, tmp / "state.db") as ctx:
        (obj,) = [o async for o in ctx.source.list(spec.source.include, spec.source.exclude)]
    return obj


@pytest.fixture
def book(tmp_path: Path) -> Path:
    return tagged_pdf(tmp_path / "in" / "book.pdf", TAGS, size=(400, 300), resolution=96.0)


async def test_each_page_comes_back_in_its_place_with_its_own_text(
    tmp_path: Path, book: Path
) -> None:
    spec = spec_for(tmp_path)
    obj = await listed(spec, tmp_path)
    async with job_context(spec, tmp_path / "state.db") as ctx:
        assert await process_document(ctx, obj) == "done"
        assert sorted(ctx.ocr.answered) == sorted(echoed(TAGS))  # each page sent once
        assert [r.page_index for r in sorted(ctx.ocr.requests, key=lambda r: r.page_index)
                ] == list(range(len(TAGS)))
        assert ctx.counts.pages_sent == len(TAGS) and ctx.counts.documents_done == 1
        usage = await ctx.store.usage_summary("direct")
    out = tmp_path / "out"
    assert page_texts(out, "book.pdf") == txt_pages(out, "book.pdf") == echoed(TAGS)
    (row,) = usage
    assert (row["billed"], row["pages"], row["failed"], row["unknown"]) == (6, 6, 0, 0)


class StopAfter:
    """A recognizer that sets the job's `stopping` once `pages` pages were answered."""

    def __init__(self, inner: FakeRecognizer, stopping: asyncio.Event, pages: int) -> None:
        self.inner, self.stopping, self.pages = inner, stopping, pages

    async def recognize(self, request: OcrRequest) -> OcrResult:
        result = await self.inner.recognize(request)
        if len(self.inner.answered) >= self.pages:
            self.stopping.set()
        return result


async def test_a_stopped_document_resumes_without_mixing_up_or_doubling_a_page(
    tmp_path: Path, book: Path
) -> None:
    spec = spec_for(tmp_path)
    obj = await listed(spec, tmp_path)
    first = FakeRecognizer()
    async with job_context(spec, tmp_path / "state.db", recognizer=first) as ctx:
        ctx.ocr = StopAfter(first, ctx.stopping, pages=2)  # type: ignore[assignment]
        assert await process_document(ctx, obj) == "interrupted"
    assert 2 <= len(first.answered) < len(TAGS)
    assert not (tmp_path / "out" / "book.pdf.json").exists()

    second = FakeRecognizer()
    async with job_context(spec, tmp_path / "state.db", recognizer=second) as ctx:
        assert await process_document(ctx, obj) == "done"
        assert ctx.counts.pages_reused == len(first.answered)
        usage = await ctx.store.usage_summary("direct")
    assert sorted(first.answered + second.answered) == sorted(echoed(TAGS))  # none twice
    assert page_texts(tmp_path / "out", "book.pdf") == echoed(TAGS)  # each in its place
    assert sum(row["pages"] for row in usage) == len(TAGS)


async def test_a_failed_page_fails_its_document_and_its_attempt_is_recorded(
    tmp_path: Path, book: Path
) -> None:
    spec = spec_for(tmp_path)
    obj = await listed(spec, tmp_path)
    ocr = FakeRecognizer(fail_on={"page book-p4": PageOcrError("the page is unreadable")})
    async with job_context(spec, tmp_path / "state.db", recognizer=ocr) as ctx:
        assert await process_document(ctx, obj) == "failed"
        assert ctx.failures == [("book.pdf", "page 4: the page is unreadable")]
        state = await ctx.store.document("direct", "book.pdf")
        (row,) = await ctx.store.usage_summary("direct")
    assert state is not None and state.status == "failed"
    assert (row["billed"], row["failed"]) == (5, 1)
    assert not (tmp_path / "out" / "book.pdf.txt").exists()


async def test_an_unchanged_document_is_skipped_and_a_changed_one_sent_again(
    tmp_path: Path, book: Path
) -> None:
    spec = spec_for(tmp_path)
    obj = await listed(spec, tmp_path)
    async with job_context(spec, tmp_path / "state.db") as ctx:
        assert await process_document(ctx, obj) == "done"
    async with job_context(spec, tmp_path / "state.db") as ctx:
        assert await process_document(ctx, obj) == "skipped"
        assert ctx.ocr.requests == []

    tagged_pdf(book, ["new-p1"], size=(400, 300))
    changed = await listed(spec, tmp_path)
    async with job_context(spec, tmp_path / "state.db") as ctx:
        assert await process_document(ctx, changed) == "done"
        assert ctx.ocr.answered == echoed(["new-p1"])
    assert page_texts(tmp_path / "out", "book.pdf") == echoed(["new-p1"])


def test_a_block_drops_control_characters_that_no_output_can_hold() -> None:
    """A text layer or a service may give them; Word, hOCR and ALTO (XML) refuse them."""
    box = ((0, 0), (9, 0), (9, 9), (0, 9))
    block = Block("Tab\tkept, \x00NUL\x02 and \x7f gone\ufffe", box, 1.0)
    assert block.text == "Tab\tkept, NUL and  gone"
    doc = DocumentResult(SourceObject("a.png", "a.png", 1),
                         (PageResult(0, OcrResult((block,), 10, 10)),))
    for fmt in ("docx", "hocr", "alto", "txt"):
        assert WRITERS[fmt].render(doc, None, WriteOptions())  # writes, no ValueError
