"""What the user sees while a job runs (a progress bar: the CLI's `RunObserver`) and when it
ends (a summary)."""

from __future__ import annotations

import sys
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from pipeline.models import RunSummary

console = Console(stderr=True)


class ProgressBar:
    """Documents found/done, pages recognised and pages/s. Silent when not enabled."""

    def __init__(self, job: str, *, enabled: bool = True) -> None:
        self.enabled = enabled and console.is_terminal
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[pages]} pages, {task.fields[rate]:.2f} pages/s"),
            TimeElapsedColumn(),
            console=console,
            disable=not self.enabled,
        )
        self._task = self._progress.add_task(f"{job}: documents", total=0, pages=0, rate=0.0)
        self._pages = 0

    def __enter__(self) -> ProgressBar:
        self._progress.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def document_found(self) -> None:
        task = self._progress.tasks[0]
        self._progress.update(self._task, total=(task.total or 0) + 1)

    def document_done(self) -> None:
        self._progress.advance(self._task)

    def page_done(self) -> None:
        self._pages += 1
        elapsed = self._progress.tasks[0].elapsed or 0.0
        rate = self._pages / elapsed if elapsed > 0 else 0.0
        self._progress.update(self._task, pages=self._pages, rate=rate)


def print_summary(summary: RunSummary, *, file: object = None) -> None:
    """The end-of-job summary: counts, billing, time, where the outputs are, what failed."""
    out = Console(file=file or sys.stdout, width=max(console.width, 100))  # type: ignore[arg-type]
    pages = summary.pages_sent + summary.pages_reused
    rate = summary.pages_sent / summary.elapsed if summary.elapsed > 0 else 0.0
    table = Table(show_header=False, box=None, padding=(0, 2))
    table.add_row("job", summary.job)
    table.add_row(
        "documents",
        f"{summary.documents_done} done, {summary.documents_failed} failed, "
        f"{summary.documents_skipped} unchanged (skipped)",
    )
    table.add_row(
        "pages",
        f"{pages} ({summary.pages_sent} sent to OCR, {summary.pages_reused} from earlier runs)",
    )
    billed = ", ".join(f"{p}: {n}" for p, n in sorted(summary.billed_calls.items())) or "none"
    table.add_row("billed calls", f"{billed}  (by enterprise project; `ocrpipe report` for all)")
    if summary.calls_saved:
        saved = ", ".join(f"{p}: {n}" for p, n in sorted(summary.calls_saved.items()))
        reasons = sorted(summary.saved_reasons.items())
        why = ", ".join(f"{n} {r.replace('_', ' ')}" for r, n in reasons)
        table.add_row("calls saved", f"{saved}  ({why}: pages that needed no OCR call)")
    table.add_row("elapsed", f"{summary.elapsed:.1f} s, {rate:.2f} pages/s")
    table.add_row("outputs", summary.output)
    out.print(table)
    for notice in summary.notices:
        out.print(f"note: {notice}", markup=False, highlight=False, soft_wrap=True)
    if summary.failures:
        out.print(f"\n[bold red]{len(summary.failures)} document(s) failed:[/]")
        for key, error in summary.failures:
            out.print(f"  {key}: {error}", markup=False, highlight=False)
