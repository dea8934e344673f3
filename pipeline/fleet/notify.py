"""Wake-ups for claimers: PostgreSQL `LISTEN ocrpipe_work`, else a poll.

A worker waiting for work (`WorkSignal.wait`) wakes as soon as a listing stores a batch,
a range is split off, an item is given back or finished (`pipeline.store.work_items.notify`
sends `NOTIFY` in the same transaction, so it arrives once the work is visible), or at
the latest after `poll` seconds: a notification lost with a dropped connection costs one
poll period, never the work. The listening connection is asyncpg's own, opened from the
state database URL (its password is never logged: errors show the URL without it). On
SQLite there is nothing to listen to and the wait is the poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from types import TracebackType
from typing import Any

import asyncpg
from sqlalchemy.engine import URL

from pipeline.store.engine import describe, is_postgres
from pipeline.store.work_items import WORK_CHANNEL

log = logging.getLogger(__name__)


class WorkSignal:
    """`async with WorkSignal(store.engine.url, poll) as signal: await signal.wait()`."""

    def __init__(self, url: URL, poll: float) -> None:
        self.url, self.poll = url, poll
        self._event = asyncio.Event()
        self._conn: Any = None
        self.woken = 0
        """Notifications received (tests check that claims woke on them)."""

    async def __aenter__(self) -> WorkSignal:
        if is_postgres(self.url):
            dsn = self.url.set(drivername="postgresql").render_as_string(hide_password=False)
            try:
                self._conn = await asyncpg.connect(dsn, timeout=10)
                await self._conn.add_listener(WORK_CHANNEL, self._notified)
            except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
                log.warning("cannot LISTEN on %s (%s): polling every %g s instead",
                            describe(self.url), exc.__class__.__name__, self.poll)
                await self._close()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self._close()

    async def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close(timeout=5)

    @property
    def listening(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    def _notified(self, _conn: object, _pid: int, _channel: str, _payload: str) -> None:
        self.woken += 1
        self._event.set()

    def kick(self) -> None:
        """Wake the waiter from this process (work given back here, a stop)."""
        self._event.set()

    async def wait(self, at_most: float | None = None) -> bool:
        """Until a notification (True) or `at_most` seconds (default: the poll period)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), self.poll if at_most is None else at_most)
        woke = self._event.is_set()
        self._event.clear()
        return woke
