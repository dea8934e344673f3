"""Fair turns at a shared OCR service: the jobs of one process take turns, round-robin
across enterprise projects, then across the jobs of each project.

`FairDispatcher(capacity)` admits at most `capacity` calls at once. A call that finds no
free place waits in its job's line; each freed place goes to the next project in the
ring that has a waiting call, and within that project to the next job in its ring; the
project and the job served move to the back of their rings. So with projects A (jobs a1,
a2) and B (job b1) all waiting, the places go a1, b1, a2, b1, a1, ... whatever the number
of calls each job queued: a job with concurrency 16 gets no more turns than one with 2.

It sits behind each job's own limits (`LimitedClient`: its concurrency, then its qps),
just before the call is sent, so those still hold, and a place is held only while a call
is on the wire. `ocrpipe up` makes one for the embedded service that all its jobs share
(`use()`; `lazy_ocr.py` picks it up for every job with `endpoint = "embedded"`).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar


class FairDispatcher:
    """At most `capacity` holders at once; waiters served round-robin by project, then job."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("a FairDispatcher needs a capacity of 1 or more")
        self.capacity = capacity
        self.in_use = 0
        self.granted = 0
        """Places handed out so far (for logs and tests)."""
        # project -> job -> that job's waiters, oldest first; both dicts are rings whose
        # first entry is served next
        self._rings: OrderedDict[str, OrderedDict[str, deque[asyncio.Future[None]]]] = (
            OrderedDict())

    def use(self) -> None:
        """OCR calls of runs started from the current context (and the tasks created from
        it) take their turns here."""
        _current.set(self)

    def waiting(self) -> dict[str, dict[str, int]]:
        """Calls waiting now: project -> job -> count (cancelled ones not counted)."""
        return {project: {job: sum(not f.done() for f in line) for job, line in jobs.items()}
                for project, jobs in self._rings.items()}

    @asynccontextmanager
    async def turn(self, project: str, job: str) -> AsyncIterator[None]:
        """Hold one place while the body runs; wait for it in `project`/`job`'s line."""
        await self._acquire(project, job)
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, project: str, job: str) -> None:
        if self.in_use < self.capacity and not self._rings:
            self.in_use += 1
            self.granted += 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._rings.setdefault(project, OrderedDict()).setdefault(job, deque()).append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():  # granted, then cancelled: give back
                self._release()
            else:
                self._forget(project, job, waiter)
            raise

    def _release(self) -> None:
        self.in_use -= 1
        self._grant()

    def _grant(self) -> None:
        while self.in_use < self.capacity and self._rings:
            project, jobs = next(iter(self._rings.items()))
            job, line = next(iter(jobs.items()))
            waiter = line.popleft()
            served = not waiter.done()  # else cancelled while it waited: no turn used
            if not line:
                del jobs[job]
            elif served:
                jobs.move_to_end(job)
            if not jobs:
                del self._rings[project]
            elif served:
                self._rings.move_to_end(project)
            if not served:
                continue
            waiter.set_result(None)
            self.in_use += 1
            self.granted += 1

    def _forget(self, project: str, job: str, waiter: asyncio.Future[None]) -> None:
        jobs = self._rings.get(project)
        line = jobs.get(job) if jobs is not None else None
        if jobs is None or line is None or waiter not in line:
            return  # already taken off by `_grant`
        line.remove(waiter)
        if not line:
            del jobs[job]
        if not jobs:
            del self._rings[project]


def current_dispatcher() -> FairDispatcher | None:
    """The dispatcher set by `FairDispatcher.use()` in this context, if any."""
    return _current.get()


_current: ContextVar[FairDispatcher | None] = ContextVar("ocrpipe_fair_dispatcher",
                                                         default=None)
