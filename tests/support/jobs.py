"""Job files for runs against the testing kit's fake OCR server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from pipeline.job_worker import JobWorker
from pipeline.store import JobQueue
from pipeline.testing import FakeOcrServer, make_page

FAKE_AK, FAKE_SK = "AKFAKE0123456789", "sk-very-secret-value"
"""The key pair the `server` fixture (conftest) accepts."""


def image_job(
    tmp: Path, server: FakeOcrServer, env: pytest.MonkeyPatch, *, name: str, documents: int,
    ocr: str = "",
) -> str:
    """A job file's text: `documents` tagged PNGs in tmp/in (doc<n>.png tagged "doc<n>", so
    the fake answers "page doc<n>"), OCR by `server` (its credentials and a state database
    in tmp put in the environment), outputs in tmp/out."""
    inputs = tmp / "in"
    inputs.mkdir()
    for n in range(documents):
        make_page(f"doc{n}", (320, 160)).save(inputs / f"doc{n}.png")
    env.setenv("HUAWEICLOUD_SDK_AK", FAKE_AK)
    env.setenv("HUAWEICLOUD_SDK_SK", FAKE_SK)
    env.setenv("OCRPIPE_DB", str(tmp / "state.db"))
    return (
        f'name = "{name}"\n[source]\nurl = "{inputs}"\n'
        f'[ocr]\nendpoint = "{server.url}"\nproject_id = "{server.project_id}"\n{ocr}'
        f'[output]\nurl = "{tmp / "out"}"\n'
    )


async def job_done(queue: JobQueue, job_id: str) -> bool:
    """The queued job `job_id` has ended `done` (a predicate for `wait_until`)."""
    record = await queue.get(job_id)
    return record is not None and record.status == "done"


@asynccontextmanager
async def worker_running(worker: JobWorker) -> AsyncIterator[JobWorker]:
    """`worker.run()` in a task while the block runs; then stopped cleanly and awaited."""
    task = asyncio.create_task(worker.run())
    try:
        yield worker
    finally:
        worker.stop()
        await task
