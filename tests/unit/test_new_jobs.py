"""A job's first run reads no document rows (issue 15, `pipeline/store/new_jobs.py`): the
store answers "no row" itself for keys it has not inserted, and is never wrong."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from pipeline.models import SourceObject
from pipeline.store import open_store
from pipeline.store.new_jobs import NewJobs


def obj(key: str, token: str = "t1") -> SourceObject:
    return SourceObject(key, f"/in/{key}", 1, change_token=token)


@pytest.fixture
def selects() -> Iterator[list[str]]:
    """The SELECTs on the documents table that any engine runs meanwhile."""
    seen: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM documents" in statement:
            seen.append(statement)

    event.listen(Engine, "before_cursor_execute", count)
    yield seen
    event.remove(Engine, "before_cursor_execute", count)


async def test_a_new_job_is_asked_once(store_url: str, selects: list[str]) -> None:
    store = await open_store(store_url)
    try:
        await store.start_run("j")
        assert await store.document("j", "a.png") is None
        assert await store.document("j", "b.png") is None
        assert len(selects) == 1  # "has the job any row?", then nothing
        doc = await store.begin_document("j", obj("a.png"), new=True)
        await store.finish_document(doc, status="done", page_count=1)
        state = await store.document("j", "a.png")  # inserted here: read from the database
        assert state is not None and state.id == doc and state.status == "done"
        assert await store.document("j", "c.png") is None
        assert len(selects) == 2
    finally:
        await store.close()


async def test_a_job_with_rows_is_read_every_time(store_url: str, selects: list[str]) -> None:
    store = await open_store(store_url)
    try:
        await store.start_run("j")
        doc = await store.begin_document("j", obj("a.png"), new=True)
        await store.finish_document(doc, status="done", page_count=1)
        await store.start_run("j")  # the next run asks again, and finds a row
        selects.clear()
        state = await store.document("j", "a.png")
        assert state is not None and state.status == "done"
        assert await store.document("j", "b.png") is None
        assert len(selects) == 3
    finally:
        await store.close()


async def test_a_row_inserted_before_the_question_is_never_missed(store_url: str) -> None:
    store = await open_store(store_url)
    try:
        doc = await store.begin_document("j", obj("a.png"))  # no `document` call first
        state = await store.document("j", "a.png")
        assert state is not None and state.id == doc
    finally:
        await store.close()


def test_past_the_cap_the_keys_are_forgotten_and_reads_resume() -> None:
    jobs = NewJobs(max_keys=2)
    jobs.found("j", empty=True)
    jobs.inserted("j", "a")
    jobs.inserted("j", "b")
    assert jobs.absent("j", "c") and not jobs.absent("j", "a")
    jobs.inserted("j", "c")  # one too many
    assert not jobs.absent("j", "d")


def test_an_insert_begun_while_asking_makes_the_answer_untrusted() -> None:
    jobs = NewJobs()
    jobs.inserted("j", "a")  # the insert went ahead of the question
    jobs.found("j", empty=True)
    assert jobs.asked("j") and not jobs.absent("j", "b")
    jobs.forget("j")
    assert not jobs.asked("j")
