"""Helpers for the writer tests: results with known blocks, and what poppler/qpdf see."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from html import unescape
from pathlib import Path

import pytest

from pipeline.models import Block, DocumentResult, OcrResult, PageGeometry, PageResult, SourceObject
from pipeline.page_worker import PageSettings, prepare_page

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Word:
    page: int
    text: str
    box: Box
    """xMin, yMin, xMax, yMax in points, origin top-left of the page as displayed."""


def block(text: str, box: Box, confidence: float = 0.95) -> Block:
    x0, y0, x1, y1 = (round(v) for v in box)
    return Block(text, ((x0, y0), (x1, y0), (x1, y1), (x0, y1)), confidence)


def page_result(path: str, index: int, blocks_at: list[tuple[str, Box]], dpi: int = 100,
                ) -> PageResult:
    """The page as the pipeline would send it, with `blocks_at` given as fractions of the
    sent image (0..1), like an OCR answer for that image."""
    page = prepare_page(path, Path(path).name, index, PageSettings(dpi=dpi))
    blocks = tuple(
        block(text, (x0 * page.width, y0 * page.height, x1 * page.width, y1 * page.height))
        for text, (x0, y0, x1, y1) in blocks_at
    )
    return PageResult(index, OcrResult(blocks, page.width, page.height), PageGeometry.of(page))


def document(path: str, pages: list[PageResult]) -> DocumentResult:
    source = Path(path)
    return DocumentResult(SourceObject(source.name, str(source), source.stat().st_size),
                          tuple(pages))


def pdftotext(path: Path, *args: str) -> str:
    done = subprocess.run(["pdftotext", "-enc", "UTF-8", *args, str(path), "-"],
                          capture_output=True, text=True, check=True)
    return done.stdout


_PAGE = re.compile(r"<page ")
_WORD = re.compile(
    r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>'
)


def words(path: Path) -> list[Word]:
    """Every word `pdftotext -bbox-layout` finds, with its page and box."""
    found: list[Word] = []
    for number, page in enumerate(_PAGE.split(pdftotext(path, "-bbox-layout"))[1:]):
        for x0, y0, x1, y1, text in _WORD.findall(page):
            found.append(Word(number, unescape(text), (float(x0), float(y0), float(x1),
                                                       float(y1))))
    return found


def inside(inner: Box, outer: Box, tolerance: float) -> bool:
    return (inner[0] >= outer[0] - tolerance and inner[1] >= outer[1] - tolerance
            and inner[2] <= outer[2] + tolerance and inner[3] <= outer[3] + tolerance)


def qpdf_check(path: Path) -> None:
    if shutil.which("qpdf") is None:
        pytest.skip("qpdf is not installed (apt-get install qpdf; .ci/run installs it)")
    done = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No syntax or stream encoding errors found" in done.stdout
