"""Every format from `ocrpipe run`, and the same again from the JSON by `ocrpipe export`."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pikepdf
import pytest
from docx import Document

from pipeline.errors import ConfigError, DocumentError
from pipeline.export import default_output, export, load_result
from pipeline.models import Block, DocumentResult, OcrResult, PageGeometry, PageResult, SourceObject
from pipeline.writers import WRITERS, WriteOptions
from tests.support.cli import base_env, ocrpipe
from tests.support.inputs import text_pdf
from tests.support.pdfcheck import pdftotext, qpdf_check


def known_result(source: Path) -> DocumentResult:
    def line(text: str, y: int) -> Block:
        return Block(text, ((50, y), (700, y), (700, y + 40), (50, y + 40)), 0.9)

    pages = tuple(
        PageResult(i, OcrResult((line(f"page {i + 1} Invoice 4711", 60),
                                 line("Total due 99 EUR 合计", 120)), 1000, 400, direction=-1.0),
                   PageGeometry(1000, 400, 2000, 800, 200.0))
        for i in range(2)
    )
    return DocumentResult(SourceObject("letter.pdf", str(source), source.stat().st_size), pages)


@pytest.fixture
def saved(tmp_path: Path) -> tuple[Path, Path, DocumentResult]:
    """An original PDF, its result and that result's JSON output."""
    source = text_pdf(tmp_path / "letter.pdf", [["Invoice number 4711"], ["Thank you"]])
    doc = known_result(source)
    result = tmp_path / "out" / "letter.pdf.json"
    result.parent.mkdir()
    result.write_bytes(WRITERS["json"].render(doc, None, WriteOptions()))
    return source, result, doc


def test_json_keeps_everything_a_writer_needs(saved: tuple[Path, Path, DocumentResult]) -> None:
    source, result, doc = saved
    loaded = load_result(result, source)
    assert loaded.pages == doc.pages  # blocks, boxes, confidences, direction, page geometry
    assert loaded.source.key == "letter.pdf" and loaded.source.size == doc.source.size


@pytest.mark.parametrize("fmt", ["txt", "docx", "pdf"])
def test_export_gives_what_the_writer_gives(saved: tuple[Path, Path, DocumentResult],
                                            fmt: str) -> None:
    source, result, doc = saved
    target = export(result, fmt, source=source)
    assert target == default_output(result, fmt) == result.with_name("letter.pdf" +
                                                                      WRITERS[fmt].suffix)
    assert target.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in target.parent.iterdir() if p.name.startswith(".")] == []
    direct = WRITERS[fmt].render(doc, str(source), WriteOptions())
    if fmt == "txt":
        assert target.read_bytes() == direct
    elif fmt == "docx":
        def text(data: bytes) -> str:
            return "\n".join(p.text for p in Document(io.BytesIO(data)).paragraphs)
        assert text(target.read_bytes()) == text(direct)
    else:
        qpdf_check(target)
        direct_file = result.with_name("direct.pdf")
        direct_file.write_bytes(direct)
        assert pdftotext(target) == pdftotext(direct_file)
        assert "page 2 Invoice 4711" in pdftotext(target)
        assert "合计" in pdftotext(target)
        with pikepdf.open(target) as pdf:
            assert len(pdf.pages) == 2


def test_export_pdf_needs_the_right_original(saved: tuple[Path, Path, DocumentResult],
                                             tmp_path: Path) -> None:
    _, result, _ = saved
    with pytest.raises(ConfigError, match="--source"):
        export(result, "pdf")
    other = text_pdf(tmp_path / "other.pdf", [["A different document, longer"]] * 3)
    with pytest.raises(DocumentError, match="bytes"):
        export(result, "pdf", source=other)
    assert not result.with_name("letter.pdf.pdf").exists()


def test_export_rejects_a_file_that_is_not_a_result(tmp_path: Path) -> None:
    bogus = tmp_path / "x.json"
    bogus.write_text(json.dumps({"hello": 1}))
    with pytest.raises(DocumentError, match="not an ocrpipe JSON result"):
        export(bogus, "txt")


def test_run_writes_every_format_and_export_rebuilds_them(tmp_path: Path) -> None:
    """The embedded OCR engine on a one-page PDF: txt, json, docx, pdf from `ocrpipe run`;
    then docx, txt and pdf again from the JSON with `ocrpipe export`, without OCR."""
    (tmp_path / "in").mkdir()
    text_pdf(tmp_path / "in" / "letter.pdf", [["Invoice number 4711", "Total due 99 EUR"]])
    (tmp_path / "job.toml").write_text(
        'name = "formats"\n[source]\nurl = "in"\n[ocr]\nembedded_workers = 1\n'
        '[output]\nurl = "out"\nformats = ["txt", "json", "docx", "pdf"]\n'
    )
    env = base_env(tmp_path)
    run = ocrpipe("run", "job.toml", "--no-progress", cwd=tmp_path, env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    out = tmp_path / "out"
    txt = (out / "letter.pdf.txt").read_text()
    assert "4711" in txt
    qpdf_check(out / "letter.pdf.pdf")
    assert "4711" in pdftotext(out / "letter.pdf.pdf")
    paragraphs = [p.text for p in Document(str(out / "letter.pdf.docx")).paragraphs]
    assert " ".join(paragraphs).split() == txt.split()  # the TXT's words, in its order
    assert not any("\n" in text for text in paragraphs)  # lines joined, no line breaks

    again = tmp_path / "again"
    rebuilt = {}
    for fmt in ("txt", "docx", "pdf"):
        target = again / f"letter{WRITERS[fmt].suffix}"
        done = ocrpipe("export", "out/letter.pdf.json", "--format", fmt, "-o", str(target),
                       "--source", "in/letter.pdf", cwd=tmp_path, env=env)
        assert done.returncode == 0, done.stdout + done.stderr
        rebuilt[fmt] = target
    assert rebuilt["txt"].read_text() == txt
    assert pdftotext(rebuilt["pdf"]) == pdftotext(out / "letter.pdf.pdf")
    assert [p.text for p in Document(str(rebuilt["docx"])).paragraphs] == [
        p.text for p in Document(str(out / "letter.pdf.docx")).paragraphs
    ]
    missing = ocrpipe("export", "out/letter.pdf.json", "--format", "pdf", cwd=tmp_path, env=env)
    assert missing.returncode == 2 and "--source" in missing.stderr
