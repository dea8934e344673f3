"""Schedules from job files: `ocrpipe up --jobs DIR` reads every `*.toml` in DIR that has a
`schedule` key, and reads DIR again when a file changes or on SIGHUP.

A bad file is reported by file and key and left out; the others still load, and a
schedule whose file went bad keeps its last good version until the file is fixed. A
schedule whose file was removed is removed. Relative paths in the files are relative to
DIR. Job files under DIR may not carry credentials (`source.pdf_password`): the job is
stored in the state database.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from yarl import URL

from pipeline.config import JobSpec, load_job_text
from pipeline.errors import ConfigError
from pipeline.protocol.addresses import refused_host
from pipeline.store import ScheduleRecord, ScheduleStore, Store
from pipeline.store.tokens import PROJECT_PATTERN
from pipeline.stored_job import stored_spec

log = logging.getLogger(__name__)


def schedule_of(spec: JobSpec, origin: str, now: datetime) -> ScheduleRecord:
    """The schedule a validated job with a `schedule` key makes; ConfigError otherwise."""
    if spec.schedule is None:
        raise ConfigError("schedule: required for a schedule (e.g. \"0 2 * * *\" or \"@daily\")")
    if spec.source.pdf_password is not None:
        raise ConfigError("source.pdf_password: scheduled jobs may not carry credentials "
                          "(they are stored in the state database)")
    project = spec.ocr.enterprise_project_id
    if not PROJECT_PATTERN.match(project):
        raise ConfigError("ocr.enterprise_project_id: letters, digits, '_' or '-' only")
    return ScheduleRecord(
        enterprise_project=project, name=spec.name, spec=stored_spec(spec),
        cron=spec.schedule, timezone=spec.timezone, overlap=spec.overlap,
        misfire=spec.misfire, paused=False, origin=origin, created_at=now,
    )


@dataclass
class Loaded:
    schedules: list[ScheduleRecord] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """One message per bad file: the file, then each bad key."""
    bad_files: set[str] = field(default_factory=set)
    prefix: str = ""
    """The origin of every schedule from this folder starts with it."""


def origin_of(path: Path) -> str:
    return f"file:{path.resolve()}"


@dataclass(frozen=True)
class WebhookLimits:
    """What `up` allows of a scheduled job's `[notify] webhook`, as for submitted jobs."""

    can_sign: bool = True
    """`up` has OCRPIPE_WEBHOOK_SECRET."""
    allow_private: bool = False
    """`up --allow-private-webhooks`."""

    def check(self, spec: JobSpec) -> None:
        if spec.notify is None:
            return
        if not self.can_sign:
            raise ConfigError("notify.webhook: `ocrpipe up` cannot sign webhooks (no "
                              "OCRPIPE_WEBHOOK_SECRET in its environment)")
        host = URL(spec.notify.webhook).host or ""
        if not self.allow_private and refused_host(host):
            raise ConfigError(f"notify.webhook: {host} is a loopback, private or link-local "
                              "address; refused unless `ocrpipe up --allow-private-webhooks`")


def read_dir(folder: Path, now: datetime, webhooks: WebhookLimits | None = None) -> Loaded:
    """The schedules of the job files in `folder` (files without `schedule` are skipped)."""
    loaded = Loaded(prefix=f"file:{folder.resolve()}/")
    seen: dict[tuple[str, str], Path] = {}
    for path in sorted(folder.glob("*.toml")):
        try:
            spec = load_job_text(path, base_dir=folder.resolve())
            if spec.schedule is None:
                continue
            (webhooks or WebhookLimits()).check(spec)
            record = schedule_of(spec, origin_of(path), now)
            key = (record.enterprise_project, record.name)
            if key in seen:
                raise ConfigError(f"name: {record.name!r} is also the name of {seen[key]} "
                                  "(one schedule per name and enterprise project)")
            seen[key] = path
            loaded.schedules.append(record)
        except ConfigError as exc:
            message = str(exc)
            loaded.problems.append(message if str(path) in message else f"{path}: {message}")
            loaded.bad_files.add(origin_of(path))
    return loaded


def signature(folder: Path) -> tuple[tuple[str, int, int], ...]:
    """What changes when a job file in `folder` is added, removed or written."""
    found = []
    for path in sorted(folder.glob("*.toml")):
        try:
            stat = path.stat()
        except OSError:
            continue
        found.append((path.name, stat.st_mtime_ns, stat.st_size))
    return tuple(found)


async def sync_dir(store: Store, folder: Path, now: datetime,
                   webhooks: WebhookLimits | None = None) -> Loaded:
    """Put the schedules of `folder` in the store and remove those whose file is gone;
    each bad file is logged at ERROR by file and key."""
    loaded = await asyncio.to_thread(read_dir, folder, now, webhooks)
    schedules = ScheduleStore(store)
    for record in loaded.schedules:
        await schedules.put(record)
    keep = {(s.enterprise_project, s.name) for s in loaded.schedules}
    for record in await schedules.list_schedules():
        if record.origin in loaded.bad_files:
            keep.add((record.enterprise_project, record.name))
    gone = await schedules.remove_from_files(loaded.prefix, keep)
    for problem in loaded.problems:
        log.error("schedule not loaded: %s", problem)
    log.info("schedules from %s: %d loaded, %d files with errors%s", folder,
             len(loaded.schedules), len(loaded.problems),
             f", removed: {', '.join(gone)}" if gone else "")
    return loaded
