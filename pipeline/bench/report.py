"""The sweep's outputs: a rich table, a CSV (one row per step), a JSON file (the steps and
the verdict) and a PNG plot (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict
from pathlib import Path

from rich.console import Console
from rich.table import Table

from pipeline.bench.sweep import Plan, StepResult, SweepResult

COLUMNS = (
    "concurrency", "qps", "calls", "ok", "throttled", "errors", "seconds", "pages_per_s",
    "p50_ms", "p95_ms", "p99_ms", "rate_429", "error_rate", "sustained_429", "saturated",
    "first_error",
)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def verdict(result: SweepResult, plan: Plan) -> str:
    best = result.sustained(plan.max_errors)
    if best is None:
        line = "no step succeeded without sustained 429s or errors"
    else:
        line = (f"sustained {best.pages_per_s:.1f} pages/s (concurrency {best.concurrency}, "
                f"qps {best.qps:g}, p95 {_ms(best.p95_ms)} ms)")
    stop = result.stopped_by_429
    if stop is not None:
        line += (f"; stopped climbing at qps {stop.qps:g}, concurrency {stop.concurrency}: "
                 f"{stop.rate_429:.0%} of calls answered 429")
    return line


def print_table(result: SweepResult, plan: Plan, label: str, console: Console) -> None:
    table = Table(title=f"ocrpipe bench: {label}",
                  caption="conc: calls in flight; p50/p95/p99: latency of successes, ms")
    for name in ("conc", "qps", "calls", "pages/s", "p50", "p95", "p99",
                 "429", "err", "note"):
        table.add_column(name, justify="left" if name == "note" else "right", no_wrap=True)
    best = result.sustained(plan.max_errors)
    for step in result.steps:
        note = ("429: stop" if step.sustained_429 else
                "best" if step is best else "full" if step.saturated else "")
        style = "red" if step.sustained_429 else "bold green" if step is best else None
        table.add_row(
            str(step.concurrency), f"{step.qps:g}", str(step.calls),
            f"{step.pages_per_s:.1f}", _ms(step.p50_ms), _ms(step.p95_ms), _ms(step.p99_ms),
            f"{step.rate_429:.0%}", f"{step.error_rate:.0%}", note, style=style,
        )
    console.print(table)
    console.print(verdict(result, plan))
    errors = [s.first_error for s in result.steps if s.first_error]
    if errors:
        console.print(f"first error seen: {errors[0]}", style="yellow")


def write_csv(result: SweepResult, path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        for step in result.steps:
            writer.writerow(asdict(step))


def write_json(result: SweepResult, plan: Plan, path: Path, meta: dict[str, object]) -> None:
    best = result.sustained(plan.max_errors)
    stop = result.stopped_by_429
    path.write_text(json.dumps({
        **meta,
        "plan": asdict(plan),
        "steps": [asdict(s) for s in result.steps],
        "sustained": None if best is None else {
            "pages_per_s": best.pages_per_s, "concurrency": best.concurrency, "qps": best.qps},
        "stopped_by_429": None if stop is None else {
            "concurrency": stop.concurrency, "qps": stop.qps, "rate_429": stop.rate_429},
        "verdict": verdict(result, plan),
    }, indent=2) + "\n", encoding="utf-8")


def write_plot(result: SweepResult, plan: Plan, path: Path, label: str) -> None:
    """Left: pages/s achieved against QPS offered, a line per concurrency, the ideal
    diagonal, 429 storms as red crosses, the sustained rate starred. Right: latency
    p50 (solid) and p95 (dashed) per concurrency."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    fig, (rate_ax, lat_ax) = plt.subplots(1, 2, figsize=(12, 5), layout="constrained")
    by_conc: dict[int, list[StepResult]] = {}
    for step in result.steps:
        by_conc.setdefault(step.concurrency, []).append(step)
    offered = sorted({s.qps for s in result.steps}) or [1.0]
    rate_ax.plot(offered, offered, color="0.6", linestyle=":", label="achieved = offered")
    for concurrency, steps in by_conc.items():
        xs = [s.qps for s in steps]
        line, = rate_ax.plot(xs, [s.pages_per_s for s in steps], marker="o",
                             label=f"{concurrency} in flight")
        lat_ax.plot(xs, [s.p50_ms or 0 for s in steps], marker="o", color=line.get_color(),
                    label=f"{concurrency} in flight p50")
        lat_ax.plot(xs, [s.p95_ms or 0 for s in steps], marker="^", linestyle="--",
                    color=line.get_color(), label=f"{concurrency} in flight p95")
    storms = [s for s in result.steps if s.sustained_429]
    if storms:
        rate_ax.scatter([s.qps for s in storms], [s.pages_per_s for s in storms], marker="X",
                        s=140, color="red", zorder=5, label="sustained 429s: stop")
    best = result.sustained(plan.max_errors)
    if best is not None:
        rate_ax.scatter([best.qps], [best.pages_per_s], marker="*", s=260, color="gold",
                        edgecolor="black", zorder=6,
                        label=f"sustained {best.pages_per_s:.1f} pages/s")
    for ax in (rate_ax, lat_ax):
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xticks(offered)
        ax.set_xlabel("QPS configured (calls/s)")
        ax.grid(True, which="both", alpha=0.3)
    rate_ax.set_ylabel("pages/s achieved")
    rate_ax.set_title("throughput")
    rate_ax.legend(fontsize="small")
    lat_ax.set_ylabel("latency of successful calls (ms)")
    lat_ax.set_title("latency p50 / p95")
    lat_ax.legend(fontsize="small")
    fig.suptitle(f"ocrpipe bench: {label}")
    fig.savefig(path, dpi=100)
    plt.close(fig)
