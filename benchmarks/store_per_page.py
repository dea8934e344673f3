"""The state store's CPU per page (issue 15): the writes and reads `ocrpipe run` makes for
a one-page document, with many documents in flight, against a real SQLite file.

Each simulated document does what `document.py` and the ledger do: look the document up,
begin it, note its page count, read its saved pages, write the attempt row before the
call, wait out a fake call, save the page with its billed attempt, finish the document.
Measured: CPU seconds of this process (the event loop and aiosqlite's thread) per
document, the transactions committed (group commits), and the documents per second.
No OCR, no outputs: only the store, so a change to it shows here apart from the rest.

    .venv/bin/python -m benchmarks.store_per_page --documents 2000 --in-flight 32
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time

from pipeline.models import OcrResult, PageGeometry, PageResult, SourceObject, UsageRecord
from pipeline.store import AttemptEnd, Store, open_store


async def one_document(store: Store, job: str, index: int, run_id: int, latency: float) -> None:
    key = f"batch/page{index:05d}.png"
    obj = SourceObject(key=key, url=f"/in/{key}", size=60_000,
                       change_token=f"blake2b:{index:040x}", fingerprint=f"{index}:60000")
    state = await store.document(job, key)
    doc_id = await store.begin_document(job, obj, new=state is None)
    await store.note_page_count(doc_id, 1)
    await store.saved_pages(doc_id)
    attempt = await store.start_attempt(UsageRecord(
        job=job, doc_key=key, page_index=0, enterprise_project="default",
        api="general-text", attempt=1, bytes_sent=80_000), run_id)
    await asyncio.sleep(latency)
    geometry = PageGeometry(1240, 1754, 1240, 1754, 150.0)
    result = OcrResult((), 1240, 1754, request_id="r")
    await store.save_page(doc_id, PageResult(0, result, geometry), change_token=obj.change_token,
                          attempts=[(attempt, AttemptEnd("billed", 200, None, "r", 20.0))])
    await store.finish_document(doc_id, status="done", page_count=1, outputs=[key + ".txt"])


async def run(documents: int, in_flight: int, latency: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="ocrpipe-store-bench-") as folder:
        store = await open_store(f"sqlite:///{os.path.join(folder, 'state.db')}")
        try:
            job = "bench"
            run_id = await store.start_run(job)
            slots = asyncio.Semaphore(in_flight)

            async def bounded(index: int) -> None:
                async with slots:
                    await one_document(store, job, index, run_id, latency)

            groups_before = store.writes.groups
            cpu, wall = time.process_time(), time.monotonic()
            async with asyncio.TaskGroup() as tg:
                for index in range(documents):
                    await slots.acquire()
                    slots.release()
                    tg.create_task(bounded(index))
            cpu, wall = time.process_time() - cpu, time.monotonic() - wall
            groups = store.writes.groups - groups_before
        finally:
            await store.close()
    return {"cpu_ms_per_document": round(cpu / documents * 1000, 3),
            "documents_per_s": round(documents / wall, 1),
            "commits_per_document": round(groups / documents, 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, default=2000)
    parser.add_argument("--in-flight", type=int, default=32)
    parser.add_argument("--latency", type=float, default=0.02, help="the fake call, s")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    for round_ in range(args.rounds):
        figures = asyncio.run(run(args.documents, args.in_flight, args.latency))
        print(f"round {round_ + 1}: " + ", ".join(f"{k} {v}" for k, v in figures.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
