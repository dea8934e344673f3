"""How jobs and documents look in the API's JSON (the OpenAPI schemas describe the same)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pipeline.store import JobProgress, JobRecord


def when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def job_url(job_id: str) -> str:
    return f"/v1/jobs/{job_id}"


def job_view(job: JobRecord, progress: JobProgress | None = None) -> dict[str, Any]:
    """A job: who, what, status, timestamps, where the outputs go; with `progress`, the
    counts of documents, pages and OCR calls the state store holds for it."""
    view: dict[str, Any] = {
        "id": job.id,
        "name": job.name,
        "enterprise_project": job.enterprise_project,
        "status": job.status,
        "priority": job.priority,
        "submitted_at": when(job.submitted_at),
        "started_at": when(job.started_at),
        "finished_at": when(job.finished_at),
        "runs": job.attempts,
        "scope": job.run_scope or "all",
        "exit_code": job.exit_code,
        "error": job.error,
        "outputs": job.spec.get("output", {}).get("url"),
        "job": job.spec,
        "links": {"self": job_url(job.id), "documents": job_url(job.id) + "/documents"},
    }
    if progress is not None:
        docs = progress.documents
        calls = progress.calls
        in_flight = calls.get("pending", 0) if job.status in ("running", "cancelling") else 0
        view["documents"] = {
            "total": sum(docs.values()),
            "done": docs.get("done", 0),
            "failed": docs.get("failed", 0),
            "pending": docs.get("pending", 0),
            "skipped": (job.summary or {}).get("documents_skipped"),
            "listed": job.documents_listed,
        }
        rate = _rate(job, progress)
        left = _pages_left(job, progress)
        view["pages"] = {"done": progress.pages_done, "per_second": rate, "left": left,
                         "eta_seconds": _eta(job, left, rate)}
        view["calls"] = {
            "billed": calls.get("billed", 0),
            "failed": calls.get("failed", 0),
            "unknown": calls.get("unknown", 0) + calls.get("pending", 0) - in_flight,
            "in_flight": in_flight,
            "saved": calls.get("saved", 0),
        }
    return view


def _rate(job: JobRecord, progress: JobProgress) -> float | None:
    """Pages/s of the latest run: live while it runs, from its summary once it has ended."""
    if job.status in ("running", "cancelling") and job.run_started_at is not None:
        elapsed = (datetime.now(UTC) - job.run_started_at).total_seconds()
        return round(progress.pages_since / elapsed, 3) if elapsed > 0 else None
    summary = job.summary or {}
    if summary.get("elapsed"):
        return round(float(summary.get("pages_sent", 0)) / float(summary["elapsed"]), 3)
    return None


def _pages_left(job: JobRecord, progress: JobProgress) -> int:
    """The pages not done yet of the documents opened, plus, once the run's listing has
    been counted, the documents whose pages are not counted yet (not opened, or being
    opened) at the average pages per document counted so far (1 before any is known)."""
    if job.documents_listed is None or job.documents_listed <= progress.documents_counted:
        return progress.pages_left
    per_document = (progress.pages_counted / progress.documents_paged
                    if progress.documents_paged else 1.0)
    to_come = job.documents_listed - progress.documents_counted
    return progress.pages_left + round(to_come * per_document)


def _eta(job: JobRecord, left: int, rate: float | None) -> float | None:
    """Seconds until the pages left are done at the latest run's rate; null unless the
    job runs and has a measured rate."""
    if job.status != "running" or not rate:
        return None
    return round(left / rate, 1)


def document_view(row: dict[str, Any]) -> dict[str, Any]:
    return {**{k: v for k, v in row.items() if k != "updated_at"},
            "updated_at": when(row["updated_at"])}
