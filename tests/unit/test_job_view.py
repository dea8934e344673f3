"""The job's JSON: pages left, pages/s and the ETA from what the state store counted."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from pipeline.api.views import job_view
from pipeline.store import JobProgress, JobRecord


def record(status: str, started_ago: float | None, **extra: object) -> JobRecord:
    now = datetime.now(UTC)
    started = now - timedelta(seconds=started_ago) if started_ago is not None else None
    job = JobRecord(
        seq=1, id="job_1", name="scan", enterprise_project="finance", spec={}, status="queued",
        priority=0, submitted_at=now, started_at=started, run_started_at=started,
        finished_at=None, attempts=1, exit_code=None, error=None, summary=None,
        lease_owner=None, lease_expires_at=None,
    )
    return replace(job, status=status, **extra)  # type: ignore[arg-type]


PROGRESS = JobProgress(documents={"done": 2, "pending": 3}, pages_done=40, calls={},
                       pages_since=20, pages_left=30, documents_counted=5,
                       documents_paged=5, pages_counted=70)


def test_a_running_job_has_a_rate_and_an_eta() -> None:
    pages = job_view(record("running", 10.0), PROGRESS)["pages"]
    assert pages["done"] == 40 and pages["left"] == 30
    assert pages["per_second"] == pytest.approx(2.0, rel=0.05)
    assert pages["eta_seconds"] == pytest.approx(15.0, rel=0.05)


def test_documents_listed_but_not_opened_count_at_the_average_pages_so_far() -> None:
    # 5 documents opened, 70 pages known of them (14 each); 10 listed: 5 more to come
    view = job_view(record("running", 10.0, documents_listed=10), PROGRESS)
    assert view["documents"]["listed"] == 10
    assert view["pages"]["left"] == 30 + 5 * 14
    assert view["pages"]["eta_seconds"] == pytest.approx(100 / 2.0, rel=0.05)
    # not counted yet, or nothing more listed than opened: the opened documents' pages only
    assert job_view(record("running", 10.0), PROGRESS)["pages"]["left"] == 30
    assert job_view(record("running", 10.0, documents_listed=4), PROGRESS)["pages"]["left"] == 30


def test_documents_being_opened_count_as_still_to_come() -> None:
    # 12 listed, one page each: 3 done, 1 opened whose page count is not known yet, 1 failed
    # before it was opened (no pages to come): the one being opened and 7 more still to come
    progress = JobProgress(documents={"done": 3, "pending": 1, "failed": 1}, pages_done=3,
                           calls={}, pages_since=3, pages_left=0, documents_counted=4,
                           documents_paged=3, pages_counted=3)
    assert job_view(record("running", 1.0, documents_listed=12), progress)["pages"]["left"] == 8


def test_no_eta_before_a_page_of_the_run_is_done() -> None:
    pages = job_view(record("running", 3.0), replace(PROGRESS, pages_since=0))["pages"]
    assert pages["per_second"] == 0 and pages["eta_seconds"] is None


@pytest.mark.parametrize("status", ["queued", "cancelling", "done"])
def test_no_eta_unless_running(status: str) -> None:
    summary = {"pages_sent": 20, "elapsed": 10.0}
    pages = job_view(record(status, 10.0, summary=summary), PROGRESS)["pages"]
    assert pages["eta_seconds"] is None


def test_the_scope_says_whether_a_retry_takes_the_failed_documents_only() -> None:
    assert job_view(record("queued", None))["scope"] == "all"
    assert job_view(record("queued", None, run_scope="failed"))["scope"] == "failed"


@pytest.mark.parametrize(("pages", "shown"), [
    ({"done": 0, "per_second": None, "left": 0, "eta_seconds": None}, ""),
    ({"done": 4, "per_second": 2.5, "left": 10, "eta_seconds": 4.0}, ", 2.5 pages/s, ETA 4s"),
    ({"done": 9, "per_second": 0.5, "left": 33, "eta_seconds": 65.4},
     ", 0.5 pages/s, ETA 1m05s"),
])
def test_submit_wait_shows_the_rate_and_the_eta(pages: dict[str, object], shown: str) -> None:
    from pipeline.cli_jobs import _pace

    assert _pace(pages) == shown
