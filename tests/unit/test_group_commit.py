"""The store's group commit (pipeline/store/group_commit.py) on a real SQLite file: writes
made together share transactions, each caller goes on only once its write is committed,
a bad write fails alone, and a cancelled caller's write still lands."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from pipeline.models import Block, OcrResult, PageGeometry, PageResult, SourceObject, UsageRecord
from pipeline.store import AttemptEnd, Store, open_store


def record(page: int) -> UsageRecord:
    return UsageRecord(
        job="j", doc_key="d.pdf", page_index=page, enterprise_project="default",
        api="general-text", attempt=1, bytes_sent=100,
    )


def page(index: int) -> PageResult:
    result = OcrResult((Block(f"p{index}", ((0, 0), (5, 0), (5, 5), (0, 5)), 0.9),), 10, 10, -1,
                       f"r{index}")
    return PageResult(index, result, PageGeometry(10, 10, 10, 10, None))


def committed_rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    """What another connection sees: only committed rows."""
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


async def opened(tmp_path: Path) -> tuple[Store, Path]:
    db = tmp_path / "state.db"
    return await open_store(str(db)), db


async def test_pages_in_flight_together_share_transactions(tmp_path: Path) -> None:
    store, db = await opened(tmp_path)
    try:
        run = await store.start_run("j")
        doc = await store.begin_document("j", SourceObject("d.pdf", "/d.pdf", 1, change_token="t"))
        before = store.writes.groups

        async def one_page(index: int) -> int:
            attempt = await store.start_attempt(record(index), run)
            # the attempt row is committed before the caller goes on (to send the call)
            assert committed_rows(db, f"SELECT outcome FROM usage WHERE id = {attempt}") == [
                ("pending",)]
            end = AttemptEnd("billed", 200, None, f"r{index}", 5.0)
            await store.save_page(doc, page(index), change_token="t", attempt=(attempt, end))
            return attempt

        attempts = await asyncio.gather(*(one_page(i) for i in range(40)))
        groups = store.writes.groups - before
    finally:
        await store.close()
    assert len(set(attempts)) == 40  # each caller got its own row id back
    assert groups <= 20 < 80  # 80 writes, far fewer transactions
    billed = committed_rows(db, "SELECT page_index, request_id FROM usage WHERE outcome = 'billed'")
    assert sorted(billed) == [(i, f"r{i}") for i in range(40)]
    saved = committed_rows(db, "SELECT page_index FROM pages ORDER BY page_index")
    assert saved == [(i,) for i in range(40)]


async def test_a_bad_write_fails_alone_and_the_others_commit(tmp_path: Path) -> None:
    store, db = await opened(tmp_path)
    try:
        async def bad(conn: AsyncConnection) -> None:
            await conn.execute(text("INSERT INTO runs (id, job, started_at, status) "
                                    "VALUES (1, 'again', '2026-01-01', 'x')"))

        run = await store.start_run("j")  # row id 1: the bad write collides with it
        results = await asyncio.gather(
            store.start_attempt(record(0), run), store.writes.run(bad),
            store.start_attempt(record(1), run), return_exceptions=True,
        )
    finally:
        await store.close()
    assert isinstance(results[1], IntegrityError)
    assert isinstance(results[0], int) and isinstance(results[2], int)
    assert len(committed_rows(db, "SELECT id FROM usage")) == 2


async def test_a_cancelled_caller_still_gets_its_write_committed(tmp_path: Path) -> None:
    store, db = await opened(tmp_path)
    try:
        run = await store.start_run("j")
        waiting = asyncio.create_task(store.start_attempt(record(7), run))
        await asyncio.sleep(0)  # queued
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await store.writes.drain()
    finally:
        await store.close()
    assert committed_rows(db, "SELECT page_index, outcome FROM usage") == [(7, "pending")]


async def test_a_document_begun_fresh_reads_no_saved_pages_but_a_known_one_does(
    tmp_path: Path,
) -> None:
    store, _db = await opened(tmp_path)
    try:
        obj = SourceObject("d.pdf", "/d.pdf", 1, change_token="t")
        doc = await store.begin_document("j", obj)
        assert await store.saved_pages(doc) == {}
        await store.save_page(doc, page(0), change_token="t")
        again = await store.begin_document("j", obj)  # the next run, same content
        assert again == doc
        assert await store.saved_pages(doc) == {0: page(0)}
    finally:
        await store.close()


async def test_a_document_said_to_be_new_that_exists_after_all_is_found(tmp_path: Path) -> None:
    store, db = await opened(tmp_path)
    try:
        original = SourceObject("d.pdf", "/d.pdf", 1, change_token="a")
        first = await store.begin_document("j", original)
        await store.save_page(first, page(0), change_token="a")
        changed = SourceObject("d.pdf", "/d.pdf", 1, change_token="b")
        again = await store.begin_document("j", changed, new=True)
    finally:
        await store.close()
    assert again == first  # the unique key refused a second row; the first was taken up
    assert committed_rows(db, "SELECT change_token, status FROM documents") == [("b", "pending")]
    assert committed_rows(db, "SELECT COUNT(*) FROM pages") == [(0,)]  # the input changed
