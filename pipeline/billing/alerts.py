"""Alerts raised once per crossing: a package's remaining-quota threshold, a project's
monthly budget. The crossings come from the deduction (`Books.alerts`); this module keeps
which ones were already raised (`billing_alerts`, its own table), logs each new one, and
POSTs it to the billing file's `alert_webhook`, signed like the job webhooks
(`X-Ocrpipe-Signature: sha256=<HMAC-SHA256 of the body>` with $OCRPIPE_WEBHOOK_SECRET).
A delivery that fails is tried again the next time alerts are raised.

Alerts are raised at the end of every run (`after_run.py`, when a billing file is found)
and by `ocrpipe billing status`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from typing import Any

import aiohttp
from sqlalchemy import select, update

from pipeline.billing.config import Billing
from pipeline.billing.deduction import Alert, Books
from pipeline.store import Store
from pipeline.store.billing_tables import billing_alerts
from pipeline.webhook_signature import SECRET_ENV, SIGNATURE_HEADER, sign

log = logging.getLogger(__name__)

__all__ = ["alert_json", "billing_alerts", "raise_alerts"]


def alert_json(alert: Alert) -> dict[str, Any]:
    return {"kind": alert.kind, "subject": alert.subject, "threshold": alert.threshold,
            "at": alert.at.isoformat()}


async def raise_alerts(store: Store, billing: Billing, books: Books) -> list[dict[str, Any]]:
    """Record and log the alerts not raised before; deliver every undelivered one to
    `alert_webhook`. Returns the newly raised alerts."""
    now = dt.datetime.now(dt.UTC)
    fresh: list[dict[str, Any]] = []
    async with store.engine.begin() as conn:
        known = {(r.kind, r.subject, r.threshold, r.at) for r in await conn.execute(
            select(billing_alerts.c.kind, billing_alerts.c.subject, billing_alerts.c.threshold,
                   billing_alerts.c.at))}
        for alert in books.alerts:
            item = alert_json(alert)
            if (item["kind"], item["subject"], item["threshold"], item["at"]) in known:
                continue
            await conn.execute(billing_alerts.insert().values(**item, raised_at=now))
            fresh.append(item)
            log.warning("billing alert: %s %s crossed %g at %s", item["kind"], item["subject"],
                        item["threshold"], item["at"])
    if billing.alert_webhook:
        await _deliver(store, billing.alert_webhook)
    return fresh


async def _deliver(store: Store, url: str) -> None:
    secret = os.environ.get(SECRET_ENV)
    if not secret:
        log.warning("billing alerts not sent to the alert_webhook: set %s (the secret "
                    "that signs them)", SECRET_ENV)
        return
    async with store.engine.connect() as conn:
        pending = (await conn.execute(select(billing_alerts).where(
            billing_alerts.c.notified_at.is_(None)).order_by(billing_alerts.c.id))).all()
    if not pending:
        return
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        for row in pending:
            body = json.dumps({"alert": {"kind": row.kind, "subject": row.subject,
                                         "threshold": row.threshold, "at": row.at}}).encode()
            headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, secret)}
            try:
                async with session.post(url, data=body, headers=headers) as response:
                    delivered = 200 <= response.status < 300
            except (aiohttp.ClientError, TimeoutError) as exc:
                log.warning("billing alert webhook failed (%s); tried again next time",
                            exc.__class__.__name__)
                return
            if not delivered:
                log.warning("billing alert webhook answered %d; tried again next time",
                            response.status)
                return
            async with store.engine.begin() as conn:
                await conn.execute(update(billing_alerts).where(billing_alerts.c.id == row.id)
                                   .values(notified_at=dt.datetime.now(dt.UTC)))

