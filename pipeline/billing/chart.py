"""`ocrpipe report --chart FILE.png|svg`: billed calls per enterprise project per day,
and each package's remaining quota (matplotlib, drawn off-screen)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Any

from pipeline.billing.usage_report import Row
from pipeline.errors import ConfigError

FORMATS = (".png", ".svg")


def daily_by_project(rows: list[Row], zone: dt.tzinfo, since: dt.date | None,
                     until: dt.date | None) -> dict[str, dict[dt.date, int]]:
    counts: Counter[tuple[str, dt.date]] = Counter()
    for row in rows:
        day = row.call.at.astimezone(zone).date()
        if row.call.outcome != "billed" or (since and day < since) or (until and day > until):
            continue
        counts[(row.call.enterprise_project, day)] += 1
    out: dict[str, dict[dt.date, int]] = {}
    for (project, day), calls in sorted(counts.items()):
        out.setdefault(project, {})[day] = calls
    return out


def draw_chart(path: Path, daily: dict[str, dict[dt.date, int]],
               packages: list[dict[str, Any]]) -> None:
    if path.suffix.lower() not in FORMATS:
        raise ConfigError(f"--chart {path}: the file name ends in .png or .svg")
    try:
        import matplotlib
    except ImportError:
        raise ConfigError("--chart needs matplotlib: pip install 'ocrpipe[chart]'") from None
    matplotlib.use("Agg")  # no display
    from matplotlib import pyplot as plt

    figure, (usage_axes, quota_axes) = plt.subplots(2, 1, figsize=(10, 8))
    try:
        for project, days in daily.items():
            usage_axes.plot(list(days), list(days.values()), marker="o", label=project)
        usage_axes.set_title("Billed calls per enterprise project per day")
        usage_axes.set_ylabel("calls")
        if daily:
            usage_axes.legend()
        figure.autofmt_xdate()
        names = [p["id"] for p in packages]
        quota_axes.barh(names, [p["remaining"] for p in packages], label="remaining")
        quota_axes.set_title("Remaining quota per package")
        quota_axes.set_xlabel("calls")
        for index, p in enumerate(packages):
            quota_axes.annotate(f"{p['remaining']}/{p['calls']} to {p['expires']} ({p['state']})",
                                (0, index), xytext=(4, 0), textcoords="offset points",
                                va="center")
        figure.tight_layout()
        try:
            figure.savefig(path)
        except OSError as exc:
            raise ConfigError(f"cannot write the chart {path}: {exc.strerror}") from None
    finally:
        plt.close(figure)
