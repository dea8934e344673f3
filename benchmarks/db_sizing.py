"""The state database's size per page, on SQLite and PostgreSQL, and what 100 M pages a
month make of it (issue 17: the README's Sizing section comes from this).

N one-page documents (page images) go through `ocrpipe run` against the testing kit's
fake OCR service, which answers every page with a corpus-like result: the lines of a
real page's ground truth (/work/shared/corpus or ../shared/corpus, the page whose text
is the median length; a generated 2 KB page when the corpus is absent), one block per
line with its box and confidence, as the real API does. A billing file with a free
quota is beside the state, so the run's end writes `deductions` and `run_regions` too.
Then per table (indexes and TOAST included): rows, rows per page, bytes per page, and
GiB per month at 100 M pages; and the bytes of `pages.result` (the page's result JSON,
which the JSON output in the output storage holds too).

SQLite's bytes are its b-tree pages (the `dbstat` table) after VACUUM; PostgreSQL's are
`pg_total_relation_size` after VACUUM ANALYZE, on a fresh database on
$OCRPIPE_BENCH_PG's server (default postgresql://postgres@127.0.0.1:5432/postgres),
dropped after. Small runs overstate bytes per page (a table's first pages): size on
the full run.

    .venv/bin/python -m benchmarks.db_sizing             # 2,000 pages
    .venv/bin/python -m benchmarks.db_sizing --pages 300
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import asyncpg
from sqlalchemy import make_url

from benchmarks.harness import (
    BENCH_AK,
    BENCH_SK,
    PROJECT_ID,
    Scenario,
    job_toml,
    prepare_inputs,
)
from benchmarks.postgres_store import ADMIN, _admin
from pipeline.testing import FakeOcrServer, Reply

TABLES = ("runs", "documents", "pages", "usage", "deductions", "run_regions")
"""The tables that grow with pages or runs."""

MONTH = 100_000_000
"""Pages a month the plan is for."""

BILLING = '[[free_quota]]\napi = "general-text"\ncalls_per_month = 1000\n'

CORPUS = (Path("/work/shared/corpus/pages"),
          Path(__file__).resolve().parents[2] / "shared" / "corpus" / "pages")


def page_lines() -> tuple[list[str], str]:
    """The lines of a corpus-like page, and where they come from."""
    for folder in CORPUS:
        texts = sorted((p for p in folder.glob("*.gt.txt")), key=lambda p: p.name)
        pages = [(p, p.read_text(encoding="utf-8").split("\f")[0]) for p in texts]
        pages = [(p, t) for p, t in pages if len(t.strip()) > 200]
        if pages:
            median = statistics.median_low(len(t) for _, t in pages)
            path, text = next((p, t) for p, t in pages if len(t) == median)
            lines = [line.strip() for line in text.splitlines() if line.strip()]
            return lines, f"{path.name} ({len(text)} characters, {len(lines)} lines)"
    words = "the quick brown fox jumps over a lazy dog while ocrpipe counts bytes".split()
    lines = [" ".join(words[(i + j) % len(words)] for j in range(9)) for i in range(36)]
    return lines, "generated (no corpus found)"


async def run_job(pages: int, workdir: Path, db: str, reply: Reply) -> None:
    scenario = Scenario("sizing", "images", pages, qps=400.0, concurrency=16, latency=0.0)
    source = await asyncio.to_thread(prepare_inputs, scenario, workdir)
    billing = workdir / "billing.toml"
    billing.write_text(BILLING, encoding="utf-8")
    async with FakeOcrServer(project_id=PROJECT_ID, credentials={BENCH_AK: BENCH_SK},
                             default=reply, keep_bodies=False) as service:
        job = workdir / "job.toml"
        job.write_text(job_toml("sizing", source, workdir / "out", service.url, scenario),
                       encoding="utf-8")
        env = {**os.environ, "HUAWEICLOUD_SDK_AK": BENCH_AK, "HUAWEICLOUD_SDK_SK": BENCH_SK,
               "OCRPIPE_DB": db, "OCRPIPE_BILLING": str(billing)}
        ocrpipe = str(Path(sys.executable).with_name("ocrpipe"))
        process = await asyncio.create_subprocess_exec(
            ocrpipe, "run", str(job), "--no-progress", env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        out, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"ocrpipe exited {process.returncode}:\n{out.decode()[-4000:]}")


Sizes = dict[str, tuple[int, int]]


def sqlite_sizes(path: Path) -> tuple[Sizes, float]:
    """Rows and bytes per table (its indexes with it); the mean bytes of pages.result."""
    with sqlite3.connect(path) as conn:
        conn.execute("VACUUM")
        owner = dict(conn.execute("SELECT name, tbl_name FROM sqlite_master"))
        size: dict[str, int] = defaultdict(int)
        for name, pgsize in conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"):
            size[owner.get(name, name)] += int(pgsize)
        found = {t: (conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0], size[t])
                 for t in TABLES}
        mean = conn.execute("SELECT avg(length(CAST(result AS BLOB))) FROM pages").fetchone()[0]
    return found, float(mean or 0)


async def postgres_sizes(url: str) -> tuple[Sizes, float]:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("VACUUM ANALYZE")
        found = {}
        for table in TABLES:
            rows = await conn.fetchval(f"SELECT count(*) FROM {table}")
            size = await conn.fetchval("SELECT pg_total_relation_size($1::regclass)", table)
            found[table] = (int(rows), int(size))
        # as stored: TOAST compresses a long result (pglz)
        mean = await conn.fetchval("SELECT avg(pg_column_size(result)) FROM pages")
    finally:
        await conn.close()
    return found, float(mean or 0)


def report(label: str, pages: int, sizes: Sizes, result_bytes: float, raw: float) -> str:
    lines = [f"{label}, {pages} one-page documents:",
             f"  {'table':<12} {'rows':>7} {'rows/page':>9} {'B/page':>8} {'GiB/month':>10}"]
    total = 0
    for table, (rows, size) in sizes.items():
        total += size
        lines.append(f"  {table:<12} {rows:>7} {rows / pages:>9.3f} {size / pages:>8.0f} "
                     f"{size / pages * MONTH / 2**30:>10.1f}")
    lines.append(f"  {'all':<12} {'':>7} {'':>9} {total / pages:>8.0f} "
                 f"{total / pages * MONTH / 2**30:>10.1f}")
    share = result_bytes * pages / total if total else 0.0
    lines.append(f"  pages.result: {raw:.0f} B of JSON per page, {result_bytes:.0f} B as "
                 f"stored, {share:.0%} of all the bytes above")
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000)
    args = parser.parse_args()
    lines, origin = page_lines()
    reply = Reply.ok(*((line, 0.97) for line in lines))
    print(f"each page answered with the lines of {origin}")
    admin = os.environ.get("OCRPIPE_BENCH_PG", ADMIN)
    with tempfile.TemporaryDirectory(prefix="ocrpipe-sizing-") as tmp:
        state = Path(tmp) / "sqlite-state" / "state.db"
        state.parent.mkdir()
        await run_job(args.pages, Path(tmp) / "sqlite", str(state), reply)
        found, raw = sqlite_sizes(state)
        print(report("SQLite", args.pages, found, raw, raw))
        name = "ocrpipe_sizing_" + os.urandom(4).hex()
        await _admin(admin, f'CREATE DATABASE "{name}"')
        try:
            url = make_url(admin).set(database=name).render_as_string(hide_password=False)
            await run_job(args.pages, Path(tmp) / "postgres", url, reply)
            found, stored = await postgres_sizes(url)
            print(report("PostgreSQL", args.pages, found, stored, raw))
        finally:
            await _admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    asyncio.run(main())
