"""What making the books costs: `deduct` over a synthetic ledger, and the whole end-of-run
step (`books_after_run`: read the ledger from SQLite, deduct, rewrite `deductions`, check
alerts) that every run with a billing file pays once.

    .venv/bin/python -m benchmarks.billing [--calls 10000,100000] [--packages 20]

The ledger: calls spread over 6 months, 4 enterprise projects, 2 APIs, 2 regions, 2 %
with outcome unknown; the packages half bound, of varied sizes and dates, with alert
thresholds; a free quota and two pay-per-use tiers. Prints wall-clock seconds and calls/s
per size (one run each; the machine is shared, so compare sizes within one run).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert

from pipeline.billing.after_run import books_after_run
from pipeline.billing.config import parse_billing
from pipeline.billing.deduction import Call, deduct
from pipeline.store import open_store
from pipeline.store.schema import usage

PROJECTS = ("proj-a", "proj-b", "proj-c", "default")
APIS = ("general-text", "id-card")
REGIONS = ("cn-north-4", "ap-southeast-1")
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def billing_text(packages: int, rng: random.Random) -> str:
    parts = ['currency = "CNY"\n[[free_quota]]\napi = "general-text"\ncalls_per_month = 1000\n']
    for n in range(packages):
        month = rng.randint(1, 5)
        bound = f'enterprise_project = "{rng.choice(PROJECTS)}"\n' if n % 2 else ""
        parts.append(
            f'[[package]]\nid = "pkg-{n}"\napi = "{rng.choice(APIS)}"\n'
            f'region = "{rng.choice(REGIONS)}"\ncalls = {rng.randint(500, 20000)}\n'
            f"effective = 2026-{month:02d}-01\nexpires = 2026-{month + 1:02d}-28\n"
            f"created = 2025-12-{rng.randint(1, 28):02d}\n{bound}"
            "alert_remaining_percent = [20, 5]\n")
    for api in APIS:
        for region in REGIONS:
            parts.append(f'[[price]]\napi = "{api}"\nregion = "{region}"\n'
                         "tiers = [{ up_to = 50000, per_call = 0.0025 }, { per_call = 0.0015 }]\n")
    return "".join(parts)


def ledger(calls: int, rng: random.Random) -> list[Call]:
    span = 180 * 86400
    return [Call(n + 1, START + dt.timedelta(seconds=rng.randrange(span)),
                 rng.choice(PROJECTS), rng.choice(APIS), rng.choice(REGIONS),
                 "unknown" if rng.random() < 0.02 else "billed") for n in range(calls)]


async def end_of_run(calls: list[Call], billing_toml: str) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "state.db"
        (Path(tmp) / "billing.toml").write_text(billing_toml)
        os.environ["OCRPIPE_DB"] = str(db)
        os.environ.pop("OCRPIPE_BILLING", None)
        store = await open_store(str(db))
        try:
            async with store.engine.begin() as conn:
                await conn.execute(insert(usage), [
                    {"job": "bench", "doc_key": f"d{c.id}", "page_index": 0,
                     "enterprise_project": c.enterprise_project, "api": c.api, "attempt": 1,
                     "bytes_sent": 1, "outcome": c.outcome, "started_at": c.at,
                     "day": c.at.strftime("%Y-%m-%d")} for c in calls])
            started = time.perf_counter()
            await books_after_run(store)
            return time.perf_counter() - started
        finally:
            await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", default="10000,100000")
    parser.add_argument("--packages", type=int, default=20)
    args = parser.parse_args()
    rng = random.Random(18)
    text = billing_text(args.packages, rng)
    billing = parse_billing(text)
    print(f"{'calls':>8} {'deduct s':>9} {'calls/s':>10} {'end of run s':>13}")
    for size in (int(s) for s in args.calls.split(",")):
        calls = ledger(size, rng)
        started = time.perf_counter()
        books = deduct(calls, billing)
        took = time.perf_counter() - started
        assert len(books.charges) == size
        whole = asyncio.run(end_of_run(calls, text))
        print(f"{size:>8} {took:>9.3f} {size / took:>10.0f} {whole:>13.3f}")


if __name__ == "__main__":
    main()
