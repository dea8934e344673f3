"""`ocrpipe run` as a subprocess, for tests about the process: exit codes, what it
prints (no traceback), locks, leftovers. Awaitable, so a fake OCR server in the test's
event loop keeps answering while it runs."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from pipeline.testing import FakeOcrServer
from tests.support.jobs import FAKE_AK, FAKE_SK

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Finished:
    code: int
    out: str

    def no_traceback(self) -> bool:
        return "Traceback" not in self.out


def environment(tmp: Path, **extra: str) -> dict[str, str]:
    return dict(
        os.environ, HUAWEICLOUD_SDK_AK=FAKE_AK, HUAWEICLOUD_SDK_SK=FAKE_SK,
        OCRPIPE_DB=str(tmp / "state.db"), PYTHONPATH=str(ROOT), HOME=str(tmp), **extra,
    )


def job_text(
    name: str, source: Path | str, output: Path | str, server: FakeOcrServer | None,
    *, extra: str = "", ocr: str = "",
) -> str:
    endpoint = (
        f'endpoint = "{server.url}"\nproject_id = "{server.project_id}"\n' if server else ""
    )
    return (
        f'name = "{name}"\n{extra}[source]\nurl = "{source}"\n'
        f"[ocr]\n{endpoint}{ocr}[output]\nurl = \"{output}\"\n"
    )


async def start(job: Path, env: dict[str, str], *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pipeline", "run", str(job), "--no-progress", *args,
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )


async def finish(proc: asyncio.subprocess.Process) -> Finished:
    async with asyncio.timeout(240):
        out, _ = await proc.communicate()
    assert proc.returncode is not None
    return Finished(proc.returncode, out.decode("utf-8", "replace"))


async def ocrpipe_run(job: Path, env: dict[str, str], *args: str) -> Finished:
    return await finish(await start(job, env, *args))
