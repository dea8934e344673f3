"""At the end of every run: the books made again from the ledger (what paid for each
row, the alerts crossed), when there is a billing file."""

from __future__ import annotations

import asyncio
import logging
import os

from pipeline.billing.alerts import raise_alerts
from pipeline.billing.calls import load_calls
from pipeline.billing.config import find_billing_path, load_billing
from pipeline.billing.deduction import deduct
from pipeline.billing.paid_by import record_deductions
from pipeline.errors import ConfigError
from pipeline.store import Store
from pipeline.store.db import DEFAULT_DB

log = logging.getLogger(__name__)


async def books_after_run(store: Store) -> None:
    """When a billing file is found: save what paid for each ledger row (`deductions`)
    and raise the alerts the run's calls crossed. A billing file with errors is logged
    (the run's work is done and kept either way)."""
    try:
        path = find_billing_path(os.environ.get("OCRPIPE_DB") or DEFAULT_DB)
        if path is None or not await asyncio.to_thread(path.is_file):
            return
        billing = await asyncio.to_thread(load_billing, path)
    except ConfigError as exc:
        log.warning("billing not updated after the run: %s", exc)
        return
    books = deduct(await load_calls(store), billing)
    await record_deductions(store, books)
    await raise_alerts(store, billing, books)
