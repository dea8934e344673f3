"""hOCR and ALTO written by a job (issue 14): through the fake OCR server, each page's
text (the tag the fake reads back) lands in its own document's files."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from pipeline.config import parse_job
from pipeline.runner import run_job
from pipeline.testing import FakeOcrServer, tagged_pdf
from tests.support.altocheck import ALTO, alto_problems
from tests.support.hocrcheck import read_hocr
from tests.support.jobs import image_job


@pytest.mark.slow  # about 4 s: worker processes start, three documents go through
async def test_a_job_writes_hocr_and_alto_for_each_document(
    tmp_path: Path, server: FakeOcrServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = image_job(tmp_path, server, monkeypatch, name="archive", documents=2)
    tagged_pdf(tmp_path / "in" / "book.pdf", ["book-p1", "book-p2"])
    summary = await run_job(parse_job(job + 'formats = ["hocr", "alto", "json"]\n'))
    assert summary.documents_done == 3 and summary.failures == ()
    out = tmp_path / "out"
    for name, tags in [("doc0.png", ["doc0"]), ("doc1.png", ["doc1"]),
                       ("book.pdf", ["book-p1", "book-p2"])]:
        pages, problems = read_hocr((out / f"{name}.hocr").read_bytes())
        assert problems == []
        assert [p.line_texts for p in pages] == [[f"page {tag}"] for tag in tags]
        assert [p.image for p in pages] == [f'"{name}"'] * len(tags)
        alto = (out / f"{name}.alto.xml").read_bytes()
        assert alto_problems(alto) == []
        strings = etree.fromstring(alto).iterfind(f".//{{{ALTO}}}String")
        assert [s.get("CONTENT") for s in strings] == [
            word for tag in tags for word in ("page", tag)
        ]
