"""The same job with its state on SQLite and on PostgreSQL: pages/s and CPU per page.

`ocrpipe run` in a subprocess against the fixed-latency fake OCR service (see
benchmarks/harness.py), page images, a QPS high enough that the state store's writes
(a ledger row before each call, the page and its attempt after) weigh: first with an
SQLite state file, then with a fresh PostgreSQL database on $OCRPIPE_BENCH_PG's server
(default postgresql://postgres@127.0.0.1:5432/postgres), dropped after; then the
rows and bytes per page of the tables that grow with pages there (the sizing for a
100 M pages a month plan). Small inputs overstate bytes per page (fixed costs of a
table's first pages, TOAST and index pages): use the full run for sizing.

    .venv/bin/python -m benchmarks.postgres_store            # 1,000 images
    .venv/bin/python -m benchmarks.postgres_store --quick    # 300 images
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import tempfile
from pathlib import Path

import asyncpg
from sqlalchemy import make_url

from benchmarks.harness import Figures, Scenario, run_scenario

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


async def _admin(url: str, sql: str) -> None:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


SIZED = ("documents", "pages", "usage", "runs")


async def sizes(url: str) -> dict[str, tuple[int, int]]:
    """Rows and bytes (table, indexes and TOAST) of the tables that grow with pages."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("VACUUM ANALYZE")
        found = {}
        for table in SIZED:
            rows = await conn.fetchval(f"SELECT count(*) FROM {table}")
            size = await conn.fetchval("SELECT pg_total_relation_size($1::regclass)", table)
            found[table] = (int(rows), int(size))
        return found
    finally:
        await conn.close()


async def on_postgres(
    scenario: Scenario, workdir: Path, admin: str
) -> tuple[Figures, dict[str, tuple[int, int]]]:
    name = "ocrpipe_bench_" + secrets.token_hex(4)
    await _admin(admin, f'CREATE DATABASE "{name}"')
    try:
        url = make_url(admin).set(database=name).render_as_string(hide_password=False)
        figures = await run_scenario(scenario, workdir, db=url)
        return figures, await sizes(url)
    finally:
        await _admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def line(label: str, f: Figures) -> str:
    return (f"{label:<11} {f.pages:>6} {f.wall_seconds:>8.2f} {f.pages / f.wall_seconds:>8.1f} "
            f"{f.achieved_qps:>8.1f} {f.qps_ratio:>6.3f} {f.cpu_per_page * 1000:>8.2f}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 images instead of 1,000")
    parser.add_argument("--qps", type=float, default=100.0)
    args = parser.parse_args()
    admin = os.environ.get("OCRPIPE_BENCH_PG", ADMIN)
    scenario = Scenario("store", "images", 300 if args.quick else 1000, qps=args.qps,
                        concurrency=16, latency=0.05)
    with tempfile.TemporaryDirectory(prefix="ocrpipe-pg-bench-") as tmp:
        sqlite = await run_scenario(scenario, Path(tmp) / "sqlite")
        postgres, tables = await on_postgres(scenario, Path(tmp) / "postgres", admin)
    print(f"{'state':<11} {'pages':>6} {'wall s':>8} {'pages/s':>8} {'QPS':>8} "
          f"{'ratio':>6} {'CPU ms/p':>8}")
    print(line("SQLite", sqlite))
    print(line("PostgreSQL", postgres))
    print(f"PostgreSQL / SQLite pages/s: "
          f"{(postgres.pages / postgres.wall_seconds) / (sqlite.pages / sqlite.wall_seconds):.2f}")
    print(f"\nPostgreSQL sizing after {postgres.pages} one-page documents "
          "(rows, bytes per page; 100 M pages a month):")
    total = 0
    for table, (rows, size) in tables.items():
        per_page = size / postgres.pages
        total += size
        print(f"  {table:<10} {rows:>7} rows {rows / postgres.pages:>5.2f}/page "
              f"{per_page:>8.0f} B/page  {per_page * 1e8 / 2**30:>8.1f} GiB/month")
    print(f"  {'all':<10} {total / postgres.pages:>33.0f} B/page  "
          f"{total / postgres.pages * 1e8 / 2**30:>8.1f} GiB/month")


if __name__ == "__main__":
    asyncio.run(main())
