"""How a schedule looks to people and programs: `ocrpipe schedules` and `GET /v1/schedules`
show the same dict (the OpenAPI document's `Schedule` schema describes it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pipeline.cron import Cron
from pipeline.store import FireRecord, ScheduleRecord, ScheduleStore, Store


def last_run_view(fire: FireRecord | None) -> dict[str, Any] | None:
    """The latest fire: its due time, what was done, and the job's outcome and counts."""
    if fire is None:
        return None
    summary = fire.job_summary or {}
    return {
        "due_at": fire.due_at.isoformat(),
        "outcome": fire.outcome,
        "detail": fire.detail,
        "job_id": fire.job_id,
        "job_status": fire.job_status,
        "error": fire.job_error,
        "documents_done": summary.get("documents_done"),
        "documents_unchanged": summary.get("documents_skipped"),
        "documents_failed": summary.get("documents_failed"),
    }


def schedule_view(schedule: ScheduleRecord, last: FireRecord | None,
                  now: datetime) -> dict[str, Any]:
    cron = Cron(schedule.cron, schedule.timezone)
    return {
        "name": schedule.name,
        "enterprise_project": schedule.enterprise_project,
        "schedule": schedule.cron,
        "timezone": schedule.timezone,
        "overlap": schedule.overlap,
        "misfire": schedule.misfire,
        "paused": schedule.paused,
        "origin": "api" if schedule.origin == "api" else "file",
        "next_due": None if schedule.paused else cron.local(cron.next_due(now)).isoformat(),
        "last_run": last_run_view(last),
        "job": schedule.spec,
        "links": {"self": f"/v1/schedules/{schedule.name}"},
    }


async def schedule_views(store: Store, now: datetime,
                         project: str | None = None) -> list[dict[str, Any]]:
    schedules = ScheduleStore(store)
    views = []
    for schedule in await schedules.list_schedules(project):
        latest = await schedules.fires(schedule.enterprise_project, schedule.name, limit=1)
        views.append(schedule_view(schedule, latest[0] if latest else None, now))
    return views
