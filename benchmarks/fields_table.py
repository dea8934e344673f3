"""How fast is the fields table written, and does its memory stay flat?

Fills a SQLite state database with N stored `vat-invoice` pages (the testing kit's sample
answer, the SDK's shape, 57 fields with item lists), then writes the job's CSV and XLSX
tables from it exactly as a run's end does (`pipeline.fields_output.write_tables`), for
a small and a large N, twice: once timed, once under tracemalloc (which slows Python
down several times) for the peak of Python memory while writing. Prints pages per second
and that peak, and the large / small peak ratio: about 1 means flat.

    .venv/bin/python -m benchmarks.fields_table              # 1,000 and 10,000 pages
    .venv/bin/python -m benchmarks.fields_table --quick      # 200 and 2,000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert

from pipeline.config import parse_job
from pipeline.fields_output import write_tables
from pipeline.storage.local import LocalStorage
from pipeline.store import open_store
from pipeline.store.schema import documents, pages
from pipeline.testing import structured_answer

API = "vat-invoice"


async def fill(db: Path, job: str, count: int) -> None:
    store = await open_store(str(db))
    now = datetime.now(UTC)
    try:
        async with store.engine.begin() as conn:
            for start in range(0, count, 1000):
                numbers = range(start, min(count, start + 1000))
                await conn.execute(insert(documents), [
                    {"id": n + 1, "job": job, "key": f"inv/{n:06d}.png", "status": "done",
                     "page_count": 1, "outputs": "[]", "updated_at": now} for n in numbers])
                await conn.execute(insert(pages), [
                    {"document_id": n + 1, "page_index": 0, "done_at": now,
                     "result": json.dumps({"index": 0, "width": 1, "height": 1,
                                           "direction": -1, "request_id": f"{n:032x}",
                                           "blocks": [],
                                           **structured_answer(API, f"page inv{n}")},
                                          ensure_ascii=False)} for n in numbers])
    finally:
        await store.close()


async def measure(folder: Path, count: int) -> dict[str, float]:
    job = f"bench{count}"
    db = folder / f"{job}.db"
    await fill(db, job, count)
    spec = parse_job(f'name = "{job}"\n[source]\nurl = "{folder}"\n'
                     f'[ocr]\napi = "{API}"\nregion = "cn-north-4"\n'
                     f'[output]\nurl = "{folder / "out"}"\nformats = ["csv", "xlsx"]\n')
    store = await open_store(str(db))
    out = LocalStorage(str(folder / "out"))
    try:
        started = time.perf_counter()
        await write_tables(spec, store, out)
        elapsed = time.perf_counter() - started
        tracemalloc.start()
        await write_tables(spec, store, out)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    finally:
        await store.close()
    return {"pages": count, "seconds": elapsed, "rows_per_s": count / elapsed,
            "peak_mib": peak / 2**20,
            "xlsx_mib": (folder / "out" / f"{job}.fields.xlsx").stat().st_size / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 and 2,000 pages")
    args = parser.parse_args()
    sizes = (200, 2000) if args.quick else (1000, 10000)
    with tempfile.TemporaryDirectory(prefix="ocrpipe-bench-table-") as temp:
        results = [asyncio.run(measure(Path(temp), n)) for n in sizes]
    print(f"{'pages':>7} {'seconds':>8} {'rows/s':>8} {'peak MiB':>9} {'xlsx MiB':>9}"
          "   (CSV + XLSX, vat-invoice)")
    for r in results:
        print(f"{r['pages']:>7.0f} {r['seconds']:>8.2f} {r['rows_per_s']:>8.0f} "
              f"{r['peak_mib']:>9.2f} {r['xlsx_mib']:>9.2f}")
    print(f"peak memory {sizes[1]} / {sizes[0]} pages: "
          f"{results[1]['peak_mib'] / results[0]['peak_mib']:.2f}x")


if __name__ == "__main__":
    main()
