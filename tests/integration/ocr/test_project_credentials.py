"""Per-enterprise-project AK/SK from the credentials file: `[projects.EP]` serves the jobs of
EP (under `ocrpipe up` and `ocrpipe run` alike); the others use the environment or the
file's top-level pair."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from pipeline.errors import ConfigError
from pipeline.job_worker import JobWorker, WorkerSettings
from pipeline.ocr.credentials import load_credentials
from pipeline.store import JobQueue, open_store
from pipeline.testing import FakeOcrServer
from tests.support.inputs import text_page
from tests.support.jobs import FAKE_AK, FAKE_SK

FIN_AK, FIN_SK = "AKFINANCE00000000001", "finance-secret-key-value"


def credentials_file(tmp: Path, top_level: bool = True) -> Path:
    file = tmp / "credentials.toml"
    top = f'ak = "{FAKE_AK}"\nsk = "{FAKE_SK}"\n' if top_level else ""
    file.write_text(f'{top}[projects.finance]\nak = "{FIN_AK}"\nsk = "{FIN_SK}"\n')
    file.chmod(0o600)
    return file


def test_the_projects_pair_comes_first(tmp_path: Path) -> None:
    file = credentials_file(tmp_path)
    env = {"OCRPIPE_CREDENTIALS": str(file), "HUAWEICLOUD_SDK_AK": "AKENV0000000000001",
           "HUAWEICLOUD_SDK_SK": "env-secret"}
    assert load_credentials(environ=env, project="finance").ak == FIN_AK
    assert load_credentials(environ=env, project="legal").ak == "AKENV0000000000001"
    assert load_credentials(environ=env).ak == "AKENV0000000000001"
    no_env = {"OCRPIPE_CREDENTIALS": str(file)}
    assert load_credentials(environ=no_env, project="legal").ak == FAKE_AK
    assert load_credentials(file, project="finance").sk == FIN_SK
    assert FIN_SK not in repr(load_credentials(file, project="finance"))


def test_a_file_with_projects_only_says_what_the_others_need(tmp_path: Path) -> None:
    file = credentials_file(tmp_path, top_level=False)
    env = {"OCRPIPE_CREDENTIALS": str(file)}
    assert load_credentials(environ=env, project="finance").ak == FIN_AK
    with pytest.raises(ConfigError, match=re.escape('ak = "..." and sk = "..."')) as error:
        load_credentials(environ=env, project="legal")
    assert FIN_SK not in str(error.value)
    file.write_text('[projects]\nfinance = "oops"\n')
    with pytest.raises(ConfigError, match=r"\[projects.NAME\]"):
        load_credentials(environ=env, project="finance")


@pytest.mark.slow  # 2 s and more (measured)
async def test_each_projects_jobs_are_signed_with_its_own_pair(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCRPIPE_CREDENTIALS", str(credentials_file(tmp_path)))
    monkeypatch.delenv("HUAWEICLOUD_SDK_AK", raising=False)
    monkeypatch.delenv("HUAWEICLOUD_SDK_SK", raising=False)
    monkeypatch.setenv("OCRPIPE_DB", str(tmp_path / "state.db"))
    async with FakeOcrServer(credentials={FAKE_AK: FAKE_SK, FIN_AK: FIN_SK}) as server:
        store = await open_store()
        queue = JobQueue(store)
        ids = {}
        for project in ("finance", "legal"):
            inputs = tmp_path / project
            inputs.mkdir()
            text_page([project], size=(320, 120)).save(inputs / "page.png")
            job, _ = await queue.submit(name="j", enterprise_project=project, spec={
                "name": "j", "source": {"url": str(inputs)},
                "ocr": {"endpoint": server.url, "project_id": server.project_id,
                        "enterprise_project_id": project},
                "output": {"url": str(tmp_path / "out" / project)}})
            ids[project] = job.id
        worker = JobWorker(queue, "w", WorkerSettings(lease=30, poll=0.05), tmp_path)
        task = asyncio.create_task(worker.run())
        try:
            async with asyncio.timeout(120):
                while True:
                    records = [await queue.get(i) for i in ids.values()]
                    if all(r is not None and r.status == "done" for r in records):
                        break
                    await asyncio.sleep(0.05)
        finally:
            worker.stop()
            await task
            await store.close()
        signed = {call.headers["Enterprise-Project-Id"]: call.headers["Authorization"]
                  for call in server.calls}
        assert all(call.signature_error is None for call in server.calls)
    assert f"Access={FIN_AK}" in signed["finance"]
    assert f"Access={FAKE_AK}" in signed["legal"]
