"""`ocrpipe up` end to end: a real subprocess on a loopback port, the fault-injecting fake
OCR service, jobs of two enterprise projects submitted over HTTP, one cancelled midway,
`kill -9` while another runs, a restart that resumes it, SIGTERM that exits 0.

Checks: every page of the finished jobs is in the outputs and billed once; the cancelled
job's billed calls equal its pages done; each token sees only its project's jobs.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import and_, func, select

from pipeline.store import open_store
from pipeline.store.schema import usage
from pipeline.testing import FakeOcrServer, Reply
from tests.support.inputs import text_page
from tests.support.jobs import FAKE_AK, FAKE_SK

ROOT = Path(__file__).resolve().parents[2]


def environment(tmp: Path, db: str | None = None) -> dict[str, str]:
    return dict(os.environ, HUAWEICLOUD_SDK_AK=FAKE_AK, HUAWEICLOUD_SDK_SK=FAKE_SK,
                OCRPIPE_DB=db or str(tmp / "state.db"), PYTHONPATH=str(ROOT), HOME=str(tmp))


def create_token(env: dict[str, str], project: str) -> str:
    done = subprocess.run([sys.executable, "-m", "pipeline", "token", "create", "--project",
                           project], env=env, capture_output=True, text=True, check=True)
    token = done.stdout.strip().splitlines()[-1]
    assert token.startswith("ocp_") and token not in done.stderr
    return token


def job(tmp: Path, server: FakeOcrServer, name: str, documents: int) -> dict[str, Any]:
    inputs = tmp / name / "in"
    inputs.mkdir(parents=True)
    for n in range(documents):
        text_page([f"{name} {n}"], size=(320, 120)).save(inputs / f"doc{n}.png")
    return {"name": name, "source": {"url": str(inputs)},
            "ocr": {"endpoint": server.url, "project_id": server.project_id, "concurrency": 1,
                    "qps": 100},
            "output": {"url": str(tmp / name / "out")}}


class Up:
    """One `ocrpipe up` process; its output goes to up.log in the test's folder."""

    def __init__(self, tmp: Path, env: dict[str, str]) -> None:
        self.tmp, self.env = tmp, env
        self.log = tmp / "up.log"
        self.proc: asyncio.subprocess.Process | None = None
        self.url = ""

    async def start(self, grace: float = 20) -> str:
        offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("a") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "pipeline", "up", "--port", "0", "--workers", "2",
                "--lease", "2", "--grace", str(grace), env=self.env, stdout=log, stderr=log,
                cwd=self.tmp)  # the default data root: the jobs' folders are inside it

        async def ready() -> bool:
            assert self.proc is not None
            if self.proc.returncode is not None:
                raise AssertionError(f"ocrpipe up ended: {self.log.read_text()}")
            found = re.search(r"job API at (http://[^\s,]+)", self.log.read_text()[offset:])
            if found:
                self.url = found.group(1)
            return found is not None
        await wait_until(ready, "ocrpipe up to listen")
        return self.url


async def wait_until(predicate: Callable[[], Awaitable[bool]], what: str) -> None:
    try:
        async with asyncio.timeout(180):
            while True:
                if await predicate():
                    return
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"gave up waiting for {what}") from None


async def call(session: aiohttp.ClientSession, method: str, url: str, token: str,
               body: Any = None) -> tuple[int, Any]:
    async with session.request(method, url, json=body,
                               headers={"Authorization": f"Bearer {token}"}) as resp:
        return resp.status, await resp.json()


async def billed_per_page(db: str, key: str) -> dict[tuple[str, int], int]:
    store = await open_store(db)
    try:
        async with store.engine.connect() as conn:
            rows = await conn.execute(
                select(usage.c.doc_key, usage.c.page_index, func.count())
                .where(and_(usage.c.job == key, usage.c.outcome == "billed"))
                .group_by(usage.c.doc_key, usage.c.page_index))
            return {(doc, page): n for doc, page, n in rows}
    finally:
        await store.close()


async def test_up_survives_cancel_kill_and_restart(tmp_path: Path, store_url: str) -> None:
    env = environment(tmp_path, store_url)  # SQLite and PostgreSQL
    finance, legal = create_token(env, "finance"), create_token(env, "legal")
    async with FakeOcrServer(credentials={FAKE_AK: FAKE_SK}, default=Reply.ok(delay=0.25)
                             ) as server, aiohttp.ClientSession() as session:
        up = Up(tmp_path, env)
        base = await up.start()

        async def status_of(job_id: str, token: str) -> dict[str, Any]:
            status, view = await call(session, "GET", f"{base}/v1/jobs/{job_id}", token)
            assert status == 200, view
            return dict(view)

        async def submit(token: str, body: dict[str, Any]) -> str:
            status, view = await call(session, "POST", f"{base}/v1/jobs", token, body)
            assert status == 201, view
            return str(view["id"])

        cancelled = await submit(finance, job(tmp_path, server, "cancelme", 30))
        killed = await submit(finance, job(tmp_path, server, "killed", 20))
        other = await submit(legal, job(tmp_path, server, "other", 6))
        # the data root defaults to the folder `up` started in (here tmp_path)
        status, refused = await call(session, "POST", f"{base}/v1/jobs", legal, {
            "name": "outside", "source": {"url": str(tmp_path.parent)},
            "output": {"url": str(tmp_path / "outside")}})
        assert status == 403 and str(tmp_path.resolve()) in refused["message"], refused

        async def pages_done(job_id: str, token: str, count: int) -> bool:
            return bool((await status_of(job_id, token))["pages"]["done"] >= count)

        await wait_until(lambda: pages_done(cancelled, finance, 2), "2 pages of the job to cancel")
        status, view = await call(session, "POST", f"{base}/v1/jobs/{cancelled}/cancel", finance)
        assert status == 200 and view["status"] == "cancelling"

        async def is_status(job_id: str, token: str, wanted: str) -> bool:
            return bool((await status_of(job_id, token))["status"] == wanted)

        await wait_until(lambda: is_status(cancelled, finance, "cancelled"), "the cancel")
        await wait_until(lambda: pages_done(killed, finance, 3), "3 pages of the job to kill")
        assert up.proc is not None
        up.proc.kill()  # kill -9: no clean-up at all
        assert await up.proc.wait() == -signal.SIGKILL

        base = await up.start()  # the same state database
        await wait_until(lambda: is_status(killed, finance, "done"), "the killed job to finish")
        await wait_until(lambda: is_status(other, legal, "done"), "the other project's job")

        for name, job_id, token, documents in (("killed", killed, finance, 20),
                                               ("other", other, legal, 6)):
            view = await status_of(job_id, token)
            project = "finance" if token == finance else "legal"
            assert view["exit_code"] == 0 and view["documents"]["done"] == documents, view
            assert view["pages"]["per_second"] > 0, (view["pages"], view["calls"])
            outputs = sorted(p.name for p in (tmp_path / name / "out").iterdir())
            assert outputs == sorted(f"doc{n}.png.{ext}" for n in range(documents)
                                     for ext in ("txt", "json"))
            assert await billed_per_page(store_url, f"{project}/{name}") == {
                (f"doc{n}.png", 0): 1 for n in range(documents)}
        assert (await status_of(killed, finance))["runs"] == 2  # killed mid-run, resumed
        view = await status_of(cancelled, finance)
        assert view["status"] == "cancelled" and 2 <= view["pages"]["done"] < 30
        assert view["calls"]["billed"] == view["pages"]["done"]

        # each token sees its own project's jobs only
        _, mine = await call(session, "GET", f"{base}/v1/jobs", finance)
        _, theirs = await call(session, "GET", f"{base}/v1/jobs", legal)
        assert {j["id"] for j in mine["jobs"]} == {cancelled, killed}
        assert {j["id"] for j in theirs["jobs"]} == {other}
        assert (await call(session, "GET", f"{base}/v1/jobs/{killed}", legal))[0] == 404

        up.proc.send_signal(signal.SIGTERM)
        assert await up.proc.wait() == 0
    log = (tmp_path / "up.log").read_text()
    for secret in (finance, legal, FAKE_SK):
        assert secret not in log


async def test_sigterm_puts_a_running_job_back_in_the_queue(tmp_path: Path) -> None:
    env = environment(tmp_path)
    token = create_token(env, "finance")
    async with FakeOcrServer(credentials={FAKE_AK: FAKE_SK}, default=Reply.ok(delay=0.25)
                             ) as server, aiohttp.ClientSession() as session:
        up = Up(tmp_path, env)
        base = await up.start()
        _, view = await call(session, "POST", f"{base}/v1/jobs", token,
                             job(tmp_path, server, "long", 40))

        async def started() -> bool:
            return server.call_count >= 2

        await wait_until(started, "the first calls")

        async def registered() -> bool:  # up is in the worker registry, holding the job
            with sqlite3.connect(tmp_path / "state.db") as conn:
                rows = conn.execute("SELECT kind, jobs FROM workers").fetchall()
            return rows == [("up", '["finance/long"]')]

        await wait_until(registered, "up's row in the worker registry")
        assert up.proc is not None
        up.proc.send_signal(signal.SIGTERM)
        assert await up.proc.wait() == 0
        assert server.in_flight == 0  # the calls in flight were answered, none abandoned
    with sqlite3.connect(tmp_path / "state.db") as conn:
        status, owner = conn.execute("SELECT status, lease_owner FROM jobs WHERE id = ?",
                                     (view["id"],)).fetchone()
        assert conn.execute("SELECT count(*) FROM workers").fetchone() == (0,)  # deregistered
        outcomes = {o for (o,) in conn.execute("SELECT outcome FROM usage")}
    assert (status, owner) == ("queued", None)
    assert outcomes == {"billed"}  # no call was left with its outcome unknown


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], env=env,
                          capture_output=True, text=True, timeout=300)


async def test_the_cli_submits_waits_lists_and_revokes(tmp_path: Path) -> None:
    env = environment(tmp_path)
    token = create_token(env, "finance")
    async with FakeOcrServer(credentials={FAKE_AK: FAKE_SK}) as server:
        up = Up(tmp_path, env)
        base = await up.start()
        client = dict(env, OCRPIPE_SERVER=base, OCRPIPE_TOKEN=token)
        body = job(tmp_path, server, "cli", 3)
        job_file = tmp_path / "cli.toml"
        ocr = body["ocr"]
        job_file.write_text(
            f'name = "cli"\npriority = 3\n[source]\nurl = "cli/in"\n'
            f'[ocr]\nendpoint = "{ocr["endpoint"]}"\nproject_id = "{ocr["project_id"]}"\n'
            '[output]\nurl = "cli/out"\n')
        # relative paths are the submitter's (tmp_path): made absolute before they are sent
        done = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "pipeline", "submit", str(job_file), "--wait"],
            env=client, capture_output=True, text=True, timeout=300, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        job_id = done.stdout.splitlines()[0]
        assert "done" in done.stdout and "3 billed" in done.stdout
        assert len(list((tmp_path / "cli" / "out").iterdir())) == 6

        listed = await asyncio.to_thread(cli, client, "jobs", "list")
        assert job_id in listed.stdout and "done" in listed.stdout
        shown = await asyncio.to_thread(cli, client, "jobs", "show", job_id)
        view = json.loads(shown.stdout)
        assert view["priority"] == 3 and view["calls"]["billed"] == 3
        # every document done: a retry has nothing to run, and says so
        retried = await asyncio.to_thread(cli, client, "jobs", "retry", job_id)
        assert retried.returncode == 2 and "nothing to retry" in retried.stderr
        missing = await asyncio.to_thread(cli, client, "jobs", "cancel", "job_nope")
        assert missing.returncode == 2 and "404" in missing.stderr

        assert "finance" in (await asyncio.to_thread(cli, env, "token", "list")).stdout
        assert (await asyncio.to_thread(cli, env, "token", "revoke", "finance")).returncode == 0
        refused = await asyncio.to_thread(cli, client, "jobs", "list")
        assert refused.returncode == 2 and "401" in refused.stderr
        assert token not in refused.stderr
        no_token = await asyncio.to_thread(cli, dict(client, OCRPIPE_TOKEN=""), "jobs", "list")
        assert no_token.returncode == 2 and "OCRPIPE_TOKEN" in no_token.stderr
        assert up.proc is not None
        up.proc.send_signal(signal.SIGTERM)
        assert await up.proc.wait() == 0


async def test_a_call_that_hangs_past_the_grace_is_cut_and_the_job_requeued(
        tmp_path: Path) -> None:
    env = environment(tmp_path)
    token = create_token(env, "finance")
    async with FakeOcrServer(credentials={FAKE_AK: FAKE_SK}, default=Reply.hang(60)
                             ) as server, aiohttp.ClientSession() as session:
        up = Up(tmp_path, env)
        base = await up.start(grace=1)
        _, view = await call(session, "POST", f"{base}/v1/jobs", token,
                             job(tmp_path, server, "hangs", 3))

        async def sent() -> bool:
            return server.call_count >= 1

        await wait_until(sent, "the first call")
        assert up.proc is not None
        up.proc.send_signal(signal.SIGTERM)
        assert await up.proc.wait() == 0
    with sqlite3.connect(tmp_path / "state.db") as conn:
        status = conn.execute("SELECT status FROM jobs WHERE id = ?", (view["id"],)).fetchone()
        outcomes = [o for (o,) in conn.execute("SELECT outcome FROM usage")]
    assert status == ("queued",)
    assert outcomes and set(outcomes) == {"unknown"}  # sent, cut: may have been billed


def test_the_cli_says_when_no_server_listens(tmp_path: Path) -> None:
    from pipeline.testing import free_port

    env = dict(environment(tmp_path), OCRPIPE_TOKEN="ocp_whatever")
    done = cli(env, "jobs", "list", "--server", f"http://127.0.0.1:{free_port()}")
    assert done.returncode == 2
    assert "cannot reach the job API" in done.stderr and "ocrpipe up" in done.stderr
    assert "ocp_whatever" not in done.stderr
