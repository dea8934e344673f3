"""`ocrpipe reconcile` against the embedded service's `/v1/usage`: a proxy loses some
answers after the service billed them; the ledger holds those calls as outcome unknown;
reconciling explains each difference by them and settles them, and the books agree."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.config import parse_job
from pipeline.runner import run_job
from pipeline.testing import make_page
from tests.support.dropproxy import DropProxy
from tests.support.service import (
    ADMIN_KEY,
    TEST_AK,
    TEST_PROJECT_ID,
    TEST_SK,
    OcrService,
    scripted_service,
)


@pytest.fixture(scope="module")
def counted_service() -> Iterator[OcrService]:
    with scripted_service() as service:
        yield service


def job(tmp: Path, endpoint: str, name: str, project: str, documents: int) -> str:
    inputs = tmp / name
    inputs.mkdir()
    for n in range(documents):
        make_page(f"{name}-{n}", (320, 160)).save(inputs / f"p{n}.png")
    return (f'name = "{name}"\n[source]\nurl = "{inputs}"\n'
            f'[ocr]\nendpoint = "{endpoint}"\nproject_id = "{TEST_PROJECT_ID}"\n'
            f'enterprise_project_id = "{project}"\n[output]\nurl = "{tmp / "out" / name}"\n')


def outcomes(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT outcome, count(*) FROM usage GROUP BY outcome"))


async def reconcile(*args: str) -> tuple[int, dict[str, object]]:
    result = await asyncio.to_thread(CliRunner().invoke, main, ["reconcile", "--format",
                                                                "json", *args])
    return result.exit_code, json.loads(result.stdout)


async def test_reconcile_settles_the_answers_lost_after_billing(
    tmp_path: Path, counted_service: OcrService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUAWEICLOUD_SDK_AK", TEST_AK)
    monkeypatch.setenv("HUAWEICLOUD_SDK_SK", TEST_SK)
    monkeypatch.setenv("OCRPIPE_DB", str(tmp_path / "state.db"))
    monkeypatch.setenv("OCRPIPE_ADMIN_KEY", ADMIN_KEY)
    async with DropProxy(counted_service.url, drops=2).running() as proxy:
        for name, project, documents in (("a", "proj-a", 3), ("b", "proj-b", 2)):
            summary = await run_job(parse_job(job(tmp_path, proxy.url, name, project,
                                                  documents)))
            assert summary.documents_done == documents  # each lost answer was retried
    assert proxy.dropped == 2
    db = tmp_path / "state.db"
    assert outcomes(db) == {"billed": 5, "unknown": 2}

    code, dry = await reconcile("--usage-url", counted_service.url, "--dry-run")
    assert code == 0 and dry["made_billed"] == 0
    diffs = dry["differences"]
    assert isinstance(diffs, list) and len(diffs) == 1  # both losses were proj-a's first calls
    (diff,) = diffs
    assert (diff["enterprise_project"], diff["ledger_billed"], diff["provider"],
            diff["unknown_calls"], diff["explained"]) == ("proj-a", 3, 5, 2, True)
    assert outcomes(db) == {"billed": 5, "unknown": 2}  # a dry run changes nothing

    code, done = await reconcile("--usage-url", counted_service.url)
    assert code == 0 and done["made_billed"] == 2 and done["agree"] is True
    assert outcomes(db) == {"billed": 7}
    code, again = await reconcile("--usage-url", counted_service.url)
    assert code == 0 and again["differences"] == []


async def test_an_unexplained_difference_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # an empty ledger against a CSV export that counts calls: nothing explains them
    db = tmp_path / "state.db"
    sqlite3.connect(db).close()
    monkeypatch.setenv("OCRPIPE_DB", str(db))
    export = tmp_path / "console.csv"
    export.write_text("Date,Enterprise Project,API,Calls\n2026-03-01,proj-a,general-text,4\n")
    code, out = await reconcile("--csv", str(export))
    assert code == 1 and out["agree"] is False
    assert out["differences"] == [{
        "day": "2026-03-01", "enterprise_project": "proj-a", "api": "general-text",
        "ledger_billed": 0, "provider": 4, "difference": 4, "unknown_calls": 0,
        "unknown_ids": [], "explained": False}]
