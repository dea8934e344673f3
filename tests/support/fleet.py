"""Inputs and checks for the scale-out tests (issue 17): tagged one-page images and
tagged multi-page PDFs, so the fake server's answers say which page it was sent."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from pipeline.pagetag import make_page
from pipeline.testing import FakeOcrServer

PAGE = (256, 128)


def tagged_inputs(folder: Path, images: int, pdfs: int, pdf_pages: int) -> Counter[str]:
    """img0000.png ... and pdf00.pdf ...; the answer each page should get, once."""
    folder.mkdir(parents=True, exist_ok=True)
    expected: Counter[str] = Counter()
    for n in range(images):
        make_page(f"i{n}", PAGE).save(folder / f"img{n:04}.png")
        expected[f"page i{n}"] += 1
    for d in range(pdfs):
        pages = [make_page(f"d{d}p{p}", PAGE).convert("RGB") for p in range(pdf_pages)]
        pages[0].save(folder / f"pdf{d:02}.pdf", "PDF", resolution=72.0, save_all=True,
                      append_images=pages[1:])
        expected.update(f"page d{d}p{p}" for p in range(pdf_pages))
    return expected


def answered(server: FakeOcrServer) -> Counter[str]:
    """Successful answers per page tag."""
    return Counter(server.echoed)


def fleet_job(inputs: Path, output: Path, server: FakeOcrServer, name: str, *,
              concurrency: int = 4, qps: float = 100) -> dict[str, Any]:
    return {"name": name, "source": {"url": str(inputs)},
            "ocr": {"endpoint": server.url, "project_id": server.project_id,
                    "enterprise_project_id": "finance", "concurrency": concurrency,
                    "qps": qps},
            "output": {"url": str(output), "formats": ["txt"]}}
