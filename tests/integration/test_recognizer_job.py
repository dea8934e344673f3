"""A job on `smart-document-recognizer` takes the page's layout from the answer: the
service's title is a Word heading, its table a Word table, and the local layout model is
never run; an answer without layout (as the embedded service gives) falls back to it.
`ocrpipe export` rebuilds the same Word document from the run's JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline import document
from pipeline.config import parse_job
from pipeline.export import export
from pipeline.models import OcrRequest, Region
from pipeline.runner import run_job
from pipeline.testing import FakeOcrServer, Reply
from tests.support import recognizer_answer as sample
from tests.support.docx_structure import read_docx
from tests.support.inputs import text_page
from tests.support.jobs import FAKE_AK, FAKE_SK


def recognizer_job(tmp: Path, server: FakeOcrServer, env: pytest.MonkeyPatch) -> Path:
    source = tmp / "in"
    source.mkdir()
    text_page(["a report page"], size=(sample.WIDTH, sample.HEIGHT)).save(source / "page.png")
    env.setenv("HUAWEICLOUD_SDK_AK", FAKE_AK)
    env.setenv("HUAWEICLOUD_SDK_SK", FAKE_SK)
    env.setenv("OCRPIPE_DB", str(tmp / "state.db"))
    return source


@pytest.fixture
def model_runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Pages the local layout model was asked for (the call still goes through)."""
    asked: list[int] = []
    regions = document._regions

    async def counted(ctx: object, request: OcrRequest) -> tuple[Region, ...] | None:
        asked.append(request.page_index)
        return await regions(ctx, request)  # type: ignore[arg-type]

    monkeypatch.setattr(document, "_regions", counted)
    return asked


async def test_the_recognizers_layout_makes_the_word_document(
    tmp_path: Path, server: FakeOcrServer, monkeypatch: pytest.MonkeyPatch,
    model_runs: list[int],
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # the SDK writes ~/.huaweicloud on import
    server.script(Reply.raw(200, sample.recognizer_answer(), "application/json"))
    source = recognizer_job(tmp_path, server, monkeypatch)
    out = tmp_path / "out"
    spec = parse_job(
        f'name = "recognizer"\n[source]\nurl = "{source}"\n'
        f'[ocr]\napi = "smart-document-recognizer"\nendpoint = "{server.url}"\n'
        f'project_id = "{server.project_id}"\n'
        f'[output]\nurl = "{out}"\nformats = ["json", "docx", "md"]\n'
    )
    summary = await run_job(spec)
    assert summary.documents_done == 1 and not summary.failures, summary
    assert model_runs == []  # the service's layout, no local model
    [call] = server.calls
    assert call.json["layout"] is True and call.json["table"] is True
    page = json.loads((out / "page.png.json").read_text(encoding="utf-8"))["pages"][0]
    assert [r["kind"] for r in page["regions"]] == ["title", "title", "text", "table", "footer"]
    assert [p["kind"] for p in page["paragraphs"]] == [
        "title", "title", "paragraph", "table", "footer"]
    written = (out / "page.png.docx").read_bytes()
    content = read_docx(written)
    styles = dict((text, style) for style, text in content.paragraphs)
    assert styles[sample.TITLE] == "Heading 1" and styles[sample.SUB_TITLE] == "Heading 2"
    assert content.tables == [[["Region", "Sales", "Sales"], ["Region", "Q1", "Q2"],
                                ["North", "10", "12"], ["South", "7", "9"]]]
    assert "## Sales By Region" in (out / "page.png.md").read_text(encoding="utf-8")
    rebuilt = read_docx(export(out / "page.png.json", "docx",
                               output=tmp_path / "again.docx").read_bytes())
    assert rebuilt.paragraphs == content.paragraphs and len(content.paragraphs) == 3
    assert rebuilt.tables == content.tables


@pytest.mark.slow  # loads and runs the layout model in a worker process
async def test_an_answer_without_layout_has_the_model_lay_the_page_out(
    tmp_path: Path, server: FakeOcrServer, monkeypatch: pytest.MonkeyPatch,
    model_runs: list[int],
) -> None:
    source = recognizer_job(tmp_path, server, monkeypatch)
    spec = parse_job(
        f'name = "recognizer"\n[source]\nurl = "{source}"\n'
        f'[ocr]\napi = "smart-document-recognizer"\nendpoint = "{server.url}"\n'
        f'project_id = "{server.project_id}"\n'
        f'[output]\nurl = "{tmp_path / "out"}"\nformats = ["json", "docx"]\n'
    )
    summary = await run_job(spec)
    assert summary.documents_done == 1 and not summary.failures, summary
    assert model_runs == [0]
    page = json.loads((tmp_path / "out" / "page.png.json").read_text())["pages"][0]
    assert page["regions"] is not None and page["paragraphs"]
