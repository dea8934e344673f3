"""`GET /metrics` of `ocrpipe up` (Prometheus text format 0.0.4), read from the state store
at each scrape, so every process that shares the store reports the same numbers:

    ocrpipe_jobs{status}                          jobs by status
    ocrpipe_job_queue_depth                       queued jobs
    ocrpipe_ocr_calls_total{enterprise_project,outcome}
                                                  OCR attempts in the ledger (billed, failed,
                                                  unknown, pending = in flight)
    ocrpipe_pages_total                           pages finished (rate() gives pages/s)

Written by hand, as the OCR service's are (`pipeline/service/metrics.py`): four series do
not need a client library.
"""

from __future__ import annotations

from pipeline.store import JobQueue
from pipeline.store.jobs import STATUSES

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


async def render_metrics(queue: JobQueue) -> str:
    by_status, calls, pages_done = await queue.totals()
    lines = ["# HELP ocrpipe_jobs Jobs by status.", "# TYPE ocrpipe_jobs gauge"]
    lines += [f'ocrpipe_jobs{{status="{s}"}} {by_status.get(s, 0)}' for s in STATUSES]
    lines += ["# HELP ocrpipe_job_queue_depth Jobs waiting for a worker.",
              "# TYPE ocrpipe_job_queue_depth gauge",
              f"ocrpipe_job_queue_depth {by_status.get('queued', 0)}",
              "# HELP ocrpipe_ocr_calls_total OCR attempts in the usage ledger, by outcome "
              "(saved: pages that needed no call).",
              "# TYPE ocrpipe_ocr_calls_total counter"]
    lines += [f'ocrpipe_ocr_calls_total{{enterprise_project="{_label(project)}",'
              f'outcome="{outcome}"}} {n}' for (project, outcome), n in sorted(calls.items())]
    lines += ["# HELP ocrpipe_pages_total Pages recognised and saved.",
              "# TYPE ocrpipe_pages_total counter", f"ocrpipe_pages_total {pages_done}"]
    return "\n".join(lines) + "\n"
