"""How fast `ocrpipe db prune` removes old rows: N settled ledger rows and N finished
one-page documents (with their pages) older than the cutoff, made with one INSERT ...
SELECT each, then `prune` (batched DELETEs, pipeline/store/retention.py) on a fresh
PostgreSQL database ($OCRPIPE_BENCH_PG's server, dropped after) and on an SQLite file.
Reports rows removed per second of each.

    .venv/bin/python -m benchmarks.prune_rate              # 200,000 of each
    .venv/bin/python -m benchmarks.prune_rate --rows 20000
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import tempfile
import time
from pathlib import Path

from sqlalchemy import make_url, text

from benchmarks.postgres_store import ADMIN, _admin
from pipeline.store import open_store
from pipeline.store.retention import prune

FILL = (
    "INSERT INTO runs (id, job, started_at, finished_at, status) "
    "VALUES (1, 'old', :at, :at, 'done')",
    "INSERT INTO usage (run_id, job, doc_key, page_index, enterprise_project, api, attempt, "
    "bytes_sent, outcome, started_at, day) SELECT 1, 'old', 'doc' || n, 0, 'p', "
    "'general-text', 1, 100000, 'billed', :at, '2025-01-10' FROM ({series}) AS s",
    "INSERT INTO documents (id, job, key, change_token, status, page_count, outputs, "
    "updated_at) SELECT n, 'old', 'doc' || n, 't', 'done', 1, '[]', :at FROM ({series}) AS s",
    "INSERT INTO pages (document_id, page_index, change_token, result, done_at) "
    "SELECT n, 0, 't', :result, :at FROM ({series}) AS s",
)
SERIES = {
    "postgresql": "SELECT generate_series(1, {rows}) AS n",
    "sqlite": "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c "
              "WHERE n < {rows}) SELECT n FROM c",
}
RESULT = '{"blocks": [' + ", ".join(['{"text": "a line of text", "box": [1, 2, 3, 4]}'] * 40) + "]}"


async def measure(url: str, rows: int) -> str:
    store = await open_store(url)
    try:
        at = dt.datetime(2025, 1, 10, tzinfo=dt.UTC)
        async with store.engine.begin() as conn:
            series = SERIES[conn.dialect.name].format(rows=rows)
            for statement in FILL:
                await conn.execute(text(statement.format(series=series)),
                                   {"at": at, "result": RESULT})
        started = time.monotonic()
        done = await prune(store, dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
        seconds = time.monotonic() - started
    finally:
        await store.close()
    return (f"{store.engine.dialect.name:<11} {done.usage:>8} ledger + {done.pages:>8} pages "
            f"removed in {seconds:6.1f} s: {(done.usage + done.pages) / seconds:8.0f} rows/s")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ocrpipe-prune-") as tmp:
        print(await measure(str(Path(tmp) / "state.db"), args.rows))
    admin = os.environ.get("OCRPIPE_BENCH_PG", ADMIN)
    name = "ocrpipe_prune_" + os.urandom(4).hex()
    await _admin(admin, f'CREATE DATABASE "{name}"')
    try:
        print(await measure(make_url(admin).set(database=name)
                            .render_as_string(hide_password=False), args.rows))
    finally:
        await _admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    asyncio.run(main())
