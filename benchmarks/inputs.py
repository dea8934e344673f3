"""Inputs for the benchmarks that work from a fresh clone.

Each benchmark first uses what the repository ships (`jobs/samples/`: real scans and PDFs
with permissive licences, listed in jobs/samples/README.md) and pages it generates
itself; the shared corpus beside the repository (../shared/corpus) is used as an extra
when it is present, never required.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "jobs" / "samples"
CORPUS = Path(os.environ.get("OCRPIPE_CORPUS") or ROOT.parent / "shared" / "corpus")
"""The optional extra: $OCRPIPE_CORPUS, else ../shared/corpus beside the repository."""
_GENERATED = Path(tempfile.gettempdir()) / "ocrpipe-bench-inputs"
_IMAGES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")


def generated_pdf(pages: int = 4) -> Path:
    """A scanned-style PDF made here: `pages` A4 pages at 200 dpi of printed-looking
    text (made once per machine, in the temporary folder)."""
    path = _GENERATED / f"generated_{pages}_pages.pdf"
    if path.is_file():
        return path
    _GENERATED.mkdir(parents=True, exist_ok=True)
    font = ImageFont.load_default(size=28)
    images = []
    for number in range(pages):
        image = Image.new("L", (1654, 2339), 255)
        draw = ImageDraw.Draw(image)
        for row in range(60):
            draw.text((120, 120 + row * 34),
                      f"Page {number + 1} line {row + 1}: the quick brown fox jumps over "
                      "the lazy dog 0123456789", fill=0, font=font)
        images.append(image.convert("RGB"))
    partial = path.with_suffix(".part")
    images[0].save(partial, "PDF", resolution=200.0, save_all=True,
                   append_images=images[1:])
    partial.replace(path)
    return path


def benchmark_pdfs(corpus: Path | None = None) -> list[Path]:
    """The shipped sample PDFs, a generated one, and the corpus's PDFs when present."""
    pdfs = [*sorted((SAMPLES / "pdfs").glob("*.pdf")), generated_pdf()]
    extra = corpus if corpus is not None else CORPUS / "pdfs"
    if extra.is_dir():
        pdfs += sorted(extra.glob("*.pdf"))
    return pdfs


def pages_with_truth(folders: list[Path] | None = None) -> list[Path]:
    """Page images that have a `.gt.txt` beside them: the shipped samples, then the
    corpus's pages when present."""
    if folders is None:
        folders = [p for p in sorted(SAMPLES.iterdir()) if p.is_dir()]
        if (CORPUS / "pages").is_dir():
            folders.append(CORPUS / "pages")
    pages = []
    for folder in folders:
        for truth in sorted(folder.glob("*.gt.txt")):
            stem = truth.name.removesuffix(".gt.txt")
            images = [p for p in folder.glob(stem + ".*") if p.suffix.lower() in _IMAGES]
            if images:
                pages.append(images[0])
    return pages
