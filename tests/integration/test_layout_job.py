"""A job that asks for Word or Markdown finds layout regions in its worker processes and
keeps them in the JSON result; with `layout = "off"` (or only TXT/JSON) it finds none."""

from __future__ import annotations

import json
from pathlib import Path
from typing import get_args

import pytest

from pipeline.config import parse_job
from pipeline.models import RegionKind
from pipeline.runner import run_job
from pipeline.testing import FakeOcrServer
from tests.support.inputs import text_page
from tests.support.jobs import FAKE_AK, FAKE_SK

pytestmark = pytest.mark.slow  # a whole job each, worker pool and layout model: ~10 s

PROSE = ["A Title Line", "", "Some prose that runs across the page and on",
         "and on for a few lines of text to read here", "with words and more words in each",
         "it looks like a paragraph of a page"]


@pytest.mark.parametrize(("formats", "layout", "found"), [
    ('["json", "md"]', "", True),
    ('["json", "docx"]', 'layout = "off"\n', False),
    ('["json", "txt"]', "", False),
])
async def test_regions_in_the_json_result_when_the_job_wants_them(
    tmp_path: Path, server: FakeOcrServer, monkeypatch: pytest.MonkeyPatch,
    formats: str, layout: str, found: bool,
) -> None:
    source = tmp_path / "in"
    source.mkdir()
    text_page(PROSE, size=(1240, 900)).save(source / "page.png")
    monkeypatch.setenv("HUAWEICLOUD_SDK_AK", FAKE_AK)
    monkeypatch.setenv("HUAWEICLOUD_SDK_SK", FAKE_SK)
    monkeypatch.setenv("OCRPIPE_DB", str(tmp_path / "state.db"))
    spec = parse_job(
        f'name = "layout"\n[source]\nurl = "{source}"\n'
        f'[ocr]\nendpoint = "{server.url}"\nproject_id = "{server.project_id}"\n'
        f'[output]\nurl = "{tmp_path / "out"}"\nformats = {formats}\n{layout}'
    )
    summary = await run_job(spec)
    assert summary.documents_done == 1 and not summary.failures, summary
    page = json.loads((tmp_path / "out" / "page.png.json").read_text())["pages"][0]
    if not found:
        assert "regions" not in page
        return
    regions = page["regions"]
    assert regions, "the model found nothing on a page of prose"
    assert {r["kind"] for r in regions} <= set(get_args(RegionKind))
    for region in regions:
        left, top, right, bottom = region["box"]
        assert 0 <= left < right <= page["width"] and 0 <= top < bottom <= page["height"]
    assert (tmp_path / "out" / "page.png.md").read_text(encoding="utf-8").strip()
