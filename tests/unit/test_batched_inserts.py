"""New attempt and document rows written many to one INSERT (issue 15): each caller gets
the id of its own row, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import event, select
from sqlalchemy.engine import Engine

from pipeline.models import SourceObject, UsageRecord
from pipeline.store import open_store
from pipeline.store.schema import documents, usage
from pipeline.store.statements import _start_attempts


def record(doc: str, page: int, attempt: int = 1) -> UsageRecord:
    return UsageRecord(job="j", doc_key=doc, page_index=page, enterprise_project="default",
                       api="general-text", attempt=attempt, bytes_sent=100)


async def test_each_page_gets_its_own_attempt_row(store_url: str) -> None:
    inserts: list[int] = []

    def count(_c: object, _cur: object, statement: str, *_a: object) -> None:
        if statement.startswith("INSERT INTO usage"):
            inserts.append(1)

    store = await open_store(store_url)
    event.listen(Engine, "before_cursor_execute", count)
    try:
        run = await store.start_run("j")
        wanted = [(f"d{i % 7}.png", i, 1 + i % 3) for i in range(60)]
        ids = await asyncio.gather(*(
            store.start_attempt(record(doc, page, attempt), run) for doc, page, attempt in wanted
        ))
        assert len(set(ids)) == len(ids)
        async with store.engine.connect() as conn:
            rows = {r.id: (r.doc_key, r.page_index, r.attempt)
                    for r in await conn.execute(select(usage))}
        assert [rows[i] for i in ids] == wanted
        assert store.writes.groups < len(wanted) and len(inserts) < len(wanted)  # batched
    finally:
        event.remove(Engine, "before_cursor_execute", count)
        await store.close()


async def test_each_document_gets_its_own_row(store_url: str) -> None:
    store = await open_store(store_url)
    try:
        keys = [f"in/{i:03d}.png" for i in range(40)]
        ids = await asyncio.gather(*(
            store.begin_document("j", SourceObject(k, "/" + k, 1, change_token=k), new=True)
            for k in keys
        ))
        async with store.engine.connect() as conn:
            rows = {r.id: r.key for r in await conn.execute(select(documents))}
        assert [rows[i] for i in ids] == keys
    finally:
        await store.close()


async def test_rows_alike_go_in_one_at_a_time_in_order(store_url: str) -> None:
    store = await open_store(store_url)
    try:
        row = dict(run_id=None, job="j", doc_key="d.png", page_index=0,
                   enterprise_project="default", api="general-text", attempt=1,
                   bytes_sent=1, outcome="pending", started_at=datetime.now(UTC),
                   day="2026-12-01")
        async with store.engine.begin() as conn:
            ids = await _start_attempts(conn, [row, {**row, "bytes_sent": 2}])
            sizes = {r.id: r.bytes_sent for r in await conn.execute(select(usage))}
        assert [sizes[i] for i in ids] == [1, 2]
    finally:
        await store.close()
