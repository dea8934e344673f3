"""Pages that need no OCR call: what the checks decide, what they cost, how good the text is.

    .venv/bin/python -m benchmarks.no_call [--dpi 200]

For every PDF of ../shared/corpus/pdfs (skipped with a note when absent) and three PDFs
made here (born-digital, a scan with an invisible OCR layer over painted text, a scan
whose layer is mojibake), each page goes through `textlayer.text_layer_page` and is
either read from its text layer or left to OCR (with the reason). Printed per document:
pages read / pages left to OCR, CPU ms per page of the check, CPU ms per page of
rendering and encoding it for OCR (`page_worker.prepare_and_encode`, what a page sent
costs before the call itself), and for documents read whole with a `.gt.txt` the CER of
the text read against it (`pipeline.testing.cer`, reading order from `pipeline.layout`)
and its bag CER (characters sorted: reading order does not count; the pdftotext ground
truth lists table cells in its own order).
Then what triage (`triage.triage_page`: both checks around the usual preparation) adds
to a page that is sent anyway, on four kinds of page, and the blank check alone
(`blank.is_blank_encoded`) on an A4 page at 200 dpi, PNG and JPEG.
Times are process CPU time (one process, no pool), medians of 3 (or 5) runs.
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
import zlib
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pikepdf
from PIL import Image, ImageDraw, ImageFont

from pipeline.blank import is_blank, is_blank_encoded
from pipeline.layout import page_text
from pipeline.page_worker import PageSettings, prepare_and_encode
from pipeline.pagetag import make_page
from pipeline.render import inspect_document
from pipeline.testing.cer import cer, normalize
from pipeline.textlayer import text_layer_page
from pipeline.triage import triage_page

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "pdfs"
LINES = [f"Line {n}: the quick brown fox jumps over the lazy dog, {n * 7} times." for n in
         range(40)]


def cpu_ms(fn: Callable[[], object], runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        start = time.process_time()
        fn()
        times.append((time.process_time() - start) * 1000)
    return statistics.median(times)


def _made_pdf(path: Path, lines: list[str], *, scan: bool, mode: int) -> Path:
    """A Letter page of `lines` (Helvetica 10 pt); `scan`: painted beneath at 144 dpi."""
    pdf = pikepdf.new()
    font = pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica,
        Encoding=pikepdf.Name.WinAnsiEncoding))
    resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
    ops = []
    if scan:
        image = Image.new("L", (1224, 1584), 255)
        draw = ImageDraw.Draw(image)
        face = ImageFont.load_default(size=19)
        for row, line in enumerate(LINES):
            draw.text((144, (792 - (740 - row * 16)) * 2), line, fill=0, font=face, anchor="ls")
        resources.XObject = pikepdf.Dictionary(Im0=pdf.make_stream(
            zlib.compress(image.tobytes()), Type=pikepdf.Name.XObject,
            Subtype=pikepdf.Name.Image, Width=1224, Height=1584,
            ColorSpace=pikepdf.Name.DeviceGray, BitsPerComponent=8,
            Filter=pikepdf.Name.FlateDecode))
        ops.append(b"q 612 0 0 792 0 0 cm /Im0 Do Q")
    ops.append(f"BT /F1 10 Tf {mode} Tr".encode())
    for row, line in enumerate(lines):
        ops.append(f"1 0 0 1 72 {740 - row * 16} Tm".encode() + b" (" +
                   line.encode("cp1252") + b") Tj")
    ops.append(b"ET")
    pdf.pages.append(pikepdf.Page(pikepdf.Dictionary(
        Type=pikepdf.Name.Page, MediaBox=[0, 0, 612, 792], Resources=resources,
        Contents=pdf.make_stream(b"\n".join(ops)))))
    pdf.save(path)
    return path


def made_inputs(folder: Path) -> list[Path]:
    moji = [line.replace("o", "\u00c3\u00b6") for line in LINES]
    return [
        _made_pdf(folder / "made_born_digital.pdf", LINES, scan=False, mode=0),
        _made_pdf(folder / "made_scan_with_ocr_layer.pdf", LINES, scan=True, mode=3),
        _made_pdf(folder / "made_scan_with_mojibake_layer.pdf", moji, scan=True, mode=3),
    ]


def bag(text: str) -> str:
    """The characters sorted: a CER that reading order does not change."""
    return "".join(sorted(normalize(text).replace(" ", "")))


def document_row(path: Path, settings: PageSettings) -> str:
    count = inspect_document(str(path)).page_count
    read, left, texts = 0, [], []
    check: list[float] = []
    render: list[float] = []
    for index in range(count):
        found, why = text_layer_page(str(path), index, settings)
        check.append(cpu_ms(partial(text_layer_page, str(path), index, settings)))
        render.append(cpu_ms(partial(prepare_and_encode, str(path), path.name, index,
                                     settings), runs=1))
        if found is not None:
            read += 1
            texts.append(page_text(found.result.blocks))
        else:
            left.append(f"p{index + 1}: {why}")
    truth = path.with_name(path.name.removesuffix(".pdf") + ".gt.txt")
    quality = ""
    if read == count and truth.is_file():
        reference = truth.read_text(encoding="utf-8")
        hypothesis = chr(12).join(texts)
        quality = f"{cer(hypothesis, reference):.3f}/{cer(bag(hypothesis), bag(reference)):.3f}"
    reasons = "; ".join(sorted(set(w.split(": ", 1)[1] for w in left)))[:60]
    return (f"{path.name[:44]:44} {read:>3}/{count:<3} {statistics.mean(check):7.1f} "
            f"{statistics.mean(render):8.1f}  {quality:11} {reasons}")


def blank_rows() -> list[str]:
    page = Image.new("L", (1654, 2339), 246)
    ImageDraw.Draw(page).text((200, 300), "\n".join(LINES), fill=0,
                              font=ImageFont.load_default(size=30))
    rows = []
    for fmt in ("PNG", "JPEG"):
        buffer = io.BytesIO()
        page.save(buffer, fmt)
        data = buffer.getvalue()
        blank = is_blank_encoded(data)
        spent = cpu_ms(partial(is_blank_encoded, data))
        rows.append(f"blank check, A4 200 dpi text page, {fmt:4}: {spent:5.1f} ms CPU "
                    f"(blank: {blank})")
    return rows


def overhead_rows(folder: Path, settings: PageSettings) -> list[str]:
    """What triage adds to a page that is sent anyway: `triage_page` (text-layer check,
    prepare, blank check) against `prepare_and_encode` alone, CPU ms per page."""
    scan = Image.new("L", (1654, 2339), 246)
    ImageDraw.Draw(scan).text((200, 300), "\n".join(LINES), fill=0,
                              font=ImageFont.load_default(size=30))
    inputs = {
        "small PNG page 640x480": folder / "small.png",
        "A4 200 dpi PNG scan": folder / "a4.png",
        "A4 200 dpi JPEG scan": folder / "a4.jpg",
        "A4 scanned PDF page (PNG inside)": folder / "a4.pdf",
    }
    make_page("bench", (640, 480)).save(inputs["small PNG page 640x480"])
    scan.save(inputs["A4 200 dpi PNG scan"])
    scan.convert("RGB").save(inputs["A4 200 dpi JPEG scan"], quality=85)
    scan.save(inputs["A4 scanned PDF page (PNG inside)"], "PDF", resolution=200.0)
    rows = []
    for name, path in inputs.items():
        plain = cpu_ms(partial(prepare_and_encode, str(path), name, 0, settings), runs=5)
        triaged = cpu_ms(partial(triage_page, str(path), name, 0, settings), runs=5)
        rows.append(f"sent page, {name:34}: prepare {plain:6.1f} ms, with triage "
                    f"{triaged:6.1f} ms (+{triaged - plain:.1f} ms, x{triaged / plain:.2f})")
    return rows


def corpus_blank_row() -> str:
    """Which page images of the corpus the blank check would not send."""
    shared = CORPUS.parent
    found = [p for folder in ("pages", "pages/rotated", "edge") if (shared / folder).is_dir()
             for p in sorted((shared / folder).iterdir())
             if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".tif", ".tiff")]
    if not found:
        return "(corpus page images not found: blank check on them skipped)"
    blank = []
    for path in found:
        with Image.open(path) as image:
            if is_blank(image):
                blank.append(path.name)
    return f"corpus page images taken for blank: {len(blank)} of {len(found)} {blank}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dpi", type=int, default=200)
    args = parser.parse_args()
    settings = PageSettings(dpi=args.dpi)
    print(f"{'document':44} {'read':>7} {'check':>7} {'render':>8}  {'CER/bag':11} "
          "why pages were left to OCR")
    print(f"{'':44} {'':>7} {'ms/page':>7} {'ms/page':>8}")
    with tempfile.TemporaryDirectory() as folder:
        for path in made_inputs(Path(folder)):
            print(document_row(path, settings))
        if CORPUS.is_dir():
            for path in sorted(CORPUS.glob("*.pdf")):
                print(document_row(path, settings))
        else:
            print(f"({CORPUS} not found: corpus PDFs skipped)")
        for row in overhead_rows(Path(folder), settings):
            print(row)
    for row in blank_rows():
        print(row)
    print(corpus_blank_row())


if __name__ == "__main__":
    main()
