"""Issue 18's end-to-end check, through the CLI: two enterprise projects on the embedded
service (scripted engine) behind a proxy that loses answers after the service billed them;
a bound package that runs out midway; a budget with on_exceeded = "stop"; then
`ocrpipe reconcile` against the service's /v1/usage makes the books agree."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.testing import make_page
from tests.support.billing import billing_toml, budget, package, price
from tests.support.cli_run import Finished, environment, finish, ocrpipe_run
from tests.support.dropproxy import DropProxy
from tests.support.service import (
    ADMIN_KEY,
    TEST_AK,
    TEST_PROJECT_ID,
    TEST_SK,
    OcrService,
    scripted_service,
)

BILLING = billing_toml(
    package("a-bound", 2, project="proj-a"),
    package("shared", 3, effective="2020-01-01"),
    price(0.0025),
    budget("proj-b", month_calls=2),
)


@pytest.fixture(scope="module")
def counted_service() -> Iterator[OcrService]:
    with scripted_service() as service:
        yield service


def job_file(tmp: Path, endpoint: str, name: str, project: str, extra: str = "") -> Path:
    inputs = tmp / name
    inputs.mkdir()
    for n in range(4):
        make_page(f"{name}-{n}", (320, 160)).save(inputs / f"p{n}.png")
    path = tmp / f"{name}.toml"
    path.write_text(
        f'name = "{name}"\n[source]\nurl = "{inputs}"\n[ocr]\nendpoint = "{endpoint}"\n'
        f'project_id = "{TEST_PROJECT_ID}"\nenterprise_project_id = "{project}"\n'
        f'concurrency = 1\n[output]\nurl = "{tmp / "out" / name}"\n{extra}')
    return path


async def ocrpipe(env: dict[str, str], *args: str) -> Finished:
    return await finish(await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pipeline", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL))


async def test_two_projects_budget_stop_and_reconcile(
    tmp_path: Path, counted_service: OcrService
) -> None:
    (tmp_path / "billing.toml").write_text(BILLING)
    env = environment(tmp_path)
    env.update(HUAWEICLOUD_SDK_AK=TEST_AK, HUAWEICLOUD_SDK_SK=TEST_SK,
               OCRPIPE_ADMIN_KEY=ADMIN_KEY)
    env.pop("OCRPIPE_BILLING", None)
    async with DropProxy(counted_service.url, drops=2).running() as proxy:
        a = await ocrpipe_run(job_file(tmp_path, proxy.url, "a", "proj-a"), env)
        b = await ocrpipe_run(job_file(tmp_path, proxy.url, "b", "proj-b",
                                       '[budget]\non_exceeded = "stop"\n'), env)
    assert a.code == 0, a.out
    assert proxy.dropped == 2  # proj-a's first two answers, lost after billing
    assert b.code == 1 and b.no_traceback(), b.out
    assert "stopped by the budget of its enterprise project" in b.out
    assert "monthly budget of enterprise project 'proj-b' (2 calls) is spent" in b.out

    status = await ocrpipe(env, "billing", "status", "--format", "json")
    books = json.loads(status.out)
    used = {p["id"]: (p["used"], p["state"]) for p in books["packages"]}
    # proj-a: its bound package runs out after 2 calls, the shared one pays the next 2;
    # proj-b: the shared package's last call, then pay-per-use; 2 lost calls are possible
    assert used == {"a-bound": (2, "used_up"), "shared": (3, "used_up")}
    assert [(r["enterprise_project"], r["calls"]) for r in books["pay_per_use"]] == [
        ("proj-b", 1)]
    assert [(r["enterprise_project"], r["calls"]) for r in books["possible_charges"]] == [
        ("proj-a", 2)]
    assert [(al["kind"], al["subject"]) for al in books["alerts"]] == [("budget", "proj-b")]

    rec = await ocrpipe(env, "reconcile", "--usage-url", counted_service.url, "--format",
                        "json")
    assert rec.code == 0, rec.out
    settled = json.loads(rec.out)
    assert settled["made_billed"] == 2 and settled["agree"] is True

    books = json.loads((await ocrpipe(env, "billing", "status", "--format", "json")).out)
    assert books["possible_charges"] == []
    # the two lost calls were billed first: the packages paid for them, so proj-a's last
    # calls and proj-b's now fall to pay-per-use
    assert [(r["enterprise_project"], r["calls"]) for r in books["pay_per_use"]] == [
        ("proj-a", 1), ("proj-b", 2)]
    again = await ocrpipe(env, "reconcile", "--usage-url", counted_service.url, "--format",
                          "json")
    assert again.code == 0 and json.loads(again.out)["differences"] == []
