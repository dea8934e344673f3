"""Due times of a cron line in an IANA time zone, by cronsim (DST-aware, as cronie does it).

A time that a spring-forward change skips (02:30 in Europe/Berlin on the last Sunday of
March) is due at the first minute after the change (03:00 local); a time that a fall-back
change repeats is due once, at its first occurrence. cronsim takes five fields only, so the
shorthands `@hourly`, `@daily` (`@midnight`), `@weekly`, `@monthly` and `@yearly`
(`@annually`) are spelt out here as the five-field lines they stand for.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError
from pydantic import AfterValidator

SHORTHANDS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}


class CronError(ValueError):
    """A cron line or time zone that cannot be used; the message says what to write."""


def zone(name: str) -> ZoneInfo:
    """The IANA zone `name` (e.g. "Asia/Shanghai"), or CronError."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CronError(f"{name!r} is not an IANA time zone name "
                        "(e.g. \"UTC\", \"Europe/Berlin\", \"Asia/Shanghai\")") from None


def five_fields(line: str) -> str:
    """`line` as the five-field cron line it stands for, checked by cronsim, or CronError."""
    text = " ".join(line.split())
    fields = SHORTHANDS.get(text.lower(), text)
    if fields.startswith("@"):
        raise CronError(f"{line!r}: unknown shorthand; use one of {', '.join(SHORTHANDS)} "
                        "or five fields (minute hour day month weekday)")
    if len(fields.split()) != 5:
        raise CronError(f"{line!r}: a cron line has five fields (minute hour day month "
                        "weekday), e.g. \"0 2 * * *\" for 02:00 every day")
    try:
        CronSim(fields, datetime(2000, 1, 1))
    except CronSimError as exc:
        raise CronError(f"{line!r}: {exc}") from None
    return fields


@dataclass(frozen=True)
class Cron:
    """A checked cron line in a zone. Due times are handed out as UTC datetimes."""

    line: str
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        five_fields(self.line)
        zone(self.timezone)

    def due_after(self, moment: datetime) -> Iterator[datetime]:
        """The due times strictly after `moment` (an aware datetime), in order, in UTC."""
        local = moment.astimezone(zone(self.timezone))
        for due in CronSim(five_fields(self.line), local):
            yield due.astimezone(UTC)

    def next_due(self, moment: datetime) -> datetime:
        return next(self.due_after(moment))

    def due_between(self, after: datetime, until: datetime) -> list[datetime]:
        """The due times in (after, until]; at most 10,000 (a `* * * * *` down for a week)."""
        found: list[datetime] = []
        for due in self.due_after(after):
            if due > until or len(found) >= 10_000:
                break
            found.append(due)
        return found

    def local(self, moment: datetime) -> datetime:
        """`moment` on the schedule's own clock (how `ocrpipe schedules` shows due times)."""
        return moment.astimezone(zone(self.timezone))


def _checked_line(value: str) -> str:
    five_fields(value)
    return value


def _checked_zone(value: str) -> str:
    zone(value)
    return value


CronLine = Annotated[str, AfterValidator(_checked_line)]
"""A job file's `schedule` key: a cron line cronsim accepts (a bad one names the key)."""
ZoneName = Annotated[str, AfterValidator(_checked_zone)]
"""A job file's `timezone` key: an IANA zone name."""
