"""Whole jobs against a misbehaving OCR service: every document ends accounted for.

`run_job` in-process against the fault-injecting fake service (tests/faults.py): 429
storms with and without Retry-After, 5xx, dropped connections, answers cut off, answers
slower than the client timeout, and a 401 after some calls.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import parse_job
from pipeline.errors import AuthError
from pipeline.runner import run_job
from pipeline.store import open_store
from pipeline.testing import FakeOcrServer, Reply
from tests.support.jobs import image_job
from tests.support.outputs import echoed, page_texts

DOCUMENTS = 8


def setup(tmp: Path, server: FakeOcrServer, monkeypatch: pytest.MonkeyPatch) -> str:
    return image_job(tmp, server, monkeypatch, name="storm", documents=DOCUMENTS,
                     ocr="concurrency = 3\nqps = 100\ntimeout = 1\n")


def assert_each_output_is_its_own_input(out: Path) -> None:
    for n in range(DOCUMENTS):
        assert page_texts(out, f"doc{n}.png") == echoed([f"doc{n}"])


async def usage_rows(tmp: Path) -> dict[str, int]:
    store = await open_store(str(tmp / "state.db"))
    try:
        (row,) = await store.usage_summary("storm")
        return {k: int(v or 0) for k, v in row.items() if k not in ("enterprise_project", "api")}
    finally:
        await store.close()


@pytest.mark.slow  # 2 s and more (measured)
async def test_storm_of_faults_every_document_done(
    tmp_path: Path, server: FakeOcrServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = setup(tmp_path, server, monkeypatch)
    faults = [
        Reply.error(429, "APIG.0308", "policy user over ratelimit,limit:10,time:1 minute",
                    retry_after=0),
        Reply.error(429, "ModelArts.4401", "max concurrency"),
        Reply.error(500, "ModelArts.4501"),
        Reply.error(502, "APIG.0201"),
        Reply.error(504, "APIG.0201", retry_after=0),
        Reply.drop(),
        Reply.hang(seconds=3),  # past the 1 s client timeout
        Reply.raw(503, b"<html>Service Unavailable</html>", "text/html"),
    ]
    server.script(*faults)
    summary = await run_job(parse_job(job))

    assert summary.documents_done == DOCUMENTS and summary.documents_failed == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        [f"doc{n}.png.json" for n in range(DOCUMENTS)]
        + [f"doc{n}.png.txt" for n in range(DOCUMENTS)]
    )
    usage = await usage_rows(tmp_path)
    assert usage["pages"] == DOCUMENTS and usage["billed"] == DOCUMENTS
    assert usage["unknown"] == 2  # the dropped connection and the timed-out call
    assert usage["failed"] == len(faults) - 2
    assert usage["attempts"] == server.call_count == DOCUMENTS + len(faults)
    assert_each_output_is_its_own_input(tmp_path / "out")


@pytest.mark.slow  # 2 s and more (measured)
async def test_401_after_some_calls_stops_the_job_cleanly(
    tmp_path: Path, server: FakeOcrServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = setup(tmp_path, server, monkeypatch)
    server.script(Reply.echo(), Reply.echo(), Reply.echo())
    server.default = Reply.error(401, "APIG.0301", "Incorrect IAM authentication information")
    with pytest.raises(AuthError, match="HUAWEICLOUD_SDK_AK"):
        await run_job(parse_job(job))

    calls_at_stop = server.call_count
    assert calls_at_stop <= 3 + 3  # stopped at once: at most one more call per slot
    store = await open_store(str(tmp_path / "state.db"))
    try:
        states = [await store.document("storm", f"doc{n}.png") for n in range(DOCUMENTS)]
    finally:
        await store.close()
    statuses = [s.status if s else "never started" for s in states]
    assert "failed" not in statuses  # an auth problem is not the documents' fault
    assert (await usage_rows(tmp_path))["billed"] == 3  # the pages answered before the 401

    server.default = Reply.echo()  # credentials fixed: the re-run finishes the rest
    summary = await run_job(parse_job(job))
    assert summary.documents_done + summary.documents_skipped == DOCUMENTS
    assert summary.documents_failed == 0
    ok_calls = server.call_count - calls_at_stop
    assert ok_calls == DOCUMENTS - 3  # pages answered before the 401 are not sent again
    assert_each_output_is_its_own_input(tmp_path / "out")
    assert sorted(server.echoed) == echoed(sorted(f"doc{n}" for n in range(DOCUMENTS)))
    assert (await usage_rows(tmp_path))["pages"] == DOCUMENTS
