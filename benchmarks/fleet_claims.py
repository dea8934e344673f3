"""Work-item claims on PostgreSQL (issue 17): how fast a fleet hands out items, and how
soon a waiting claimer wakes.

1. Claim throughput: ITEMS queued items, then K claimers (each its own store, as
   separate processes have) claim 4 at a time and finish each, until none is left:
   items/s for K = 1, 4, 8, and the ratio to K = 1 in the same run (`FOR UPDATE SKIP
   LOCKED`: claimers skip each other's rows instead of queueing on them).
2. Wake-up: a claimer waits (poll period 1 s) while another store adds one item; the
   delay from the commit to the claimer holding the item, median and max of TRIALS, with
   LISTEN/NOTIFY and with the poll alone.

On a fresh database on $OCRPIPE_BENCH_PG's server (default
postgresql://postgres@127.0.0.1:5432/postgres), dropped after.

    .venv/bin/python -m benchmarks.fleet_claims
"""

from __future__ import annotations

import asyncio
import os
import secrets
import statistics
import time

from sqlalchemy import make_url

from benchmarks.postgres_store import ADMIN, _admin
from pipeline.fleet.notify import WorkSignal
from pipeline.models import SourceObject
from pipeline.store import Store, open_store
from pipeline.store.work_items import WorkItems

ITEMS = 2000
TRIALS = 15
POLL = 1.0


def objects(job: str, n: int) -> list[SourceObject]:
    return [SourceObject(f"{job}/doc{i:05}.png", f"/in/doc{i:05}.png", 1) for i in range(n)]


async def drain(store: Store, job: str, holder: str) -> int:
    items, done = WorkItems(store), 0
    while got := await items.claim(job, holder, limit=4, lease=60):
        for item in got:
            await items.finish(item, holder)
            done += 1
    return done


async def throughput(url: str, claimers: int) -> float:
    stores = [await open_store(url) for _ in range(claimers)]
    job = f"job_{claimers}"
    try:
        await WorkItems(stores[0]).add(job, objects(job, ITEMS))
        started = time.perf_counter()
        done = await asyncio.gather(*(drain(s, job, f"w{k}") for k, s in enumerate(stores)))
        elapsed = time.perf_counter() - started
        assert sum(done) == ITEMS
        return ITEMS / elapsed
    finally:
        for store in stores:
            await store.close()


async def wake_delays(url: str, listen: bool) -> list[float]:
    waiter, lister = await open_store(url), await open_store(url)
    delays = []
    try:
        signal_url = waiter.engine.url if listen else waiter.engine.url.set(
            drivername="sqlite+aiosqlite", database=":memory:")  # no LISTEN: the poll alone
        async with WorkSignal(signal_url, POLL) as signal:
            items = WorkItems(waiter)
            for trial in range(TRIALS):
                job = f"wake_{listen}_{trial}"
                added = asyncio.Event()
                committed = 0.0

                async def add(job: str = job, added: asyncio.Event = added,
                              trial: int = trial) -> None:
                    nonlocal committed
                    await asyncio.sleep(0.3 + 0.05 * trial)
                    await WorkItems(lister).add(job, objects(job, 1))
                    committed = time.perf_counter()
                    added.set()

                adding = asyncio.create_task(add())
                while not await items.claim(job, "waiter", limit=1, lease=60):
                    await signal.wait()
                await adding
                delays.append(time.perf_counter() - committed)
    finally:
        await waiter.close()
        await lister.close()
    return delays


async def main() -> None:
    admin = os.environ.get("OCRPIPE_BENCH_PG", ADMIN)
    name = "ocrpipe_bench_" + secrets.token_hex(4)
    await _admin(admin, f'CREATE DATABASE "{name}"')
    url = make_url(admin).set(database=name).render_as_string(hide_password=False)
    try:
        base = None
        for claimers in (1, 4, 8):
            rate = await throughput(url, claimers)
            base = base or rate
            print(f"claims: {claimers} claimers, {ITEMS} items: {rate:7.0f} items/s "
                  f"({rate / base:.2f}x one claimer)")
        for listen in (True, False):
            delays = await wake_delays(url, listen)
            how = "LISTEN/NOTIFY" if listen else f"poll {POLL:g} s"
            print(f"wake-up, {how}: median {statistics.median(delays) * 1000:6.1f} ms, "
                  f"max {max(delays) * 1000:6.1f} ms ({TRIALS} trials)")
    finally:
        await _admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    asyncio.run(main())
