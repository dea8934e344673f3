"""Searchable PDF: ocrpipe against OCRmyPDF on one multi-page scanned PDF.

    .venv/bin/python -m benchmarks.vs_ocrmypdf [--ocrmypdf PATH] [--jobs 2] [--dpi 200]

The scan is made here from a born-digital corpus PDF with ground truth
(docling_multi_page.pdf, 5 pages): each page rendered at --dpi in grey and stored as a
JPEG (quality 80) in an image-only PDF, like a scanner's output. Both tools turn it into
a searchable PDF: ocrpipe with `ocrpipe run` (embedded RapidOCR, formats = ["pdf"]),
OCRmyPDF (Tesseract; install it in a scratch venv, it is not a dependency:
`python3 -m venv /tmp/ocrmypdf-venv && /tmp/ocrmypdf-venv/bin/pip install ocrmypdf`, plus
`apt-get install tesseract-ocr ghostscript`) with `--output-type pdf -j JOBS`. Reported:
wall time (ocrpipe's includes starting its OCR service), output size against the input,
and the CER of `pdftotext` of each output against the ground truth, page by page
(pipeline/testing/cer.py normalisation; "bag CER" ignores reading order).
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pikepdf
import pypdfium2 as pdfium

from pipeline.testing.cer import cer, normalize

ROOT = Path(__file__).resolve().parents[1]

SOURCE = ROOT / "jobs" / "samples" / "pdfs" / "docling_multi_page.pdf"  # shipped (MIT)


def make_scan(source: Path, target: Path, dpi: int) -> None:
    """An image-only PDF: each page of `source` as a grey JPEG at `dpi`."""
    pdf, scan = pdfium.PdfDocument(str(source)), pikepdf.new()
    for page in pdf:
        width_pt, height_pt = page.get_size()
        image = page.render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=80, dpi=(dpi, dpi))
        xobject = pikepdf.Stream(scan, buffer.getvalue(), Type=pikepdf.Name.XObject,
                                 Subtype=pikepdf.Name.Image, Width=image.width,
                                 Height=image.height, BitsPerComponent=8,
                                 ColorSpace=pikepdf.Name.DeviceGray,
                                 Filter=pikepdf.Name.DCTDecode)
        content = f"q {width_pt:.2f} 0 0 {height_pt:.2f} 0 0 cm /Im0 Do Q".encode()
        scan.pages.append(pikepdf.Page(pikepdf.Dictionary(
            Type=pikepdf.Name.Page, MediaBox=[0, 0, width_pt, height_pt],
            Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=xobject)),
            Contents=scan.make_stream(content),
        )))
    scan.save(target)
    pdf.close()


def timed(command: list[str], **kwargs: object) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, **kwargs)  # type: ignore[call-overload]
    return time.perf_counter() - start


def run_ocrpipe(scan: Path, work: Path) -> tuple[Path, float]:
    (work / "in").mkdir(parents=True)
    os.link(scan, work / "in" / scan.name)
    (work / "job.toml").write_text(
        'name = "vs-ocrmypdf"\n[source]\nurl = "in"\n[output]\nurl = "out"\n'
        'formats = ["pdf", "json"]\n'
    )
    env = {**os.environ, "OCRPIPE_DB": str(work / "state.db"), "PYTHONPATH": str(ROOT)}
    seconds = timed([sys.executable, "-m", "pipeline", "run", "job.toml", "--no-progress"],
                    cwd=work, env=env)
    return work / "out" / f"{scan.name}.pdf", seconds


def export_ocrpipe(scan: Path, work: Path) -> tuple[Path, float]:
    """The PDF writer alone: `ocrpipe export` from the run's JSON (no OCR)."""
    out = work / "exported.pdf"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    seconds = timed([sys.executable, "-m", "pipeline", "export", f"out/{scan.name}.json",
                     "--format", "pdf", "--source", f"in/{scan.name}", "-o", str(out)],
                    cwd=work, env=env)
    return out, seconds


def run_ocrmypdf(ocrmypdf: str, scan: Path, work: Path, jobs: int) -> tuple[Path, float]:
    out = work / "ocrmypdf.pdf"
    seconds = timed([ocrmypdf, "-q", "-j", str(jobs), "--output-type", "pdf", str(scan),
                     str(out)])
    return out, seconds


def page_cers(pdf: Path, truth: list[str]) -> tuple[float, float]:
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], check=True,
                          capture_output=True, text=True).stdout
    pages = text.split("\f")
    chars = errors = bag_errors = 0.0
    for index, reference in enumerate(truth):
        size = len(normalize(reference))
        if not size:
            continue
        hypothesis = pages[index] if index < len(pages) else ""
        chars += size
        errors += cer(hypothesis, reference) * size
        bag_errors += cer(_bag(hypothesis), _bag(reference)) * size
    return errors / chars, bag_errors / chars


def _bag(text: str) -> str:
    return " ".join(sorted(normalize(text).split()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ocrmypdf", default="/tmp/ocrmypdf-venv/bin/ocrmypdf")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--dpi", type=int, default=200)
    args = parser.parse_args()
    truth = SOURCE.with_name(SOURCE.name.removesuffix(".pdf") + ".gt.txt").read_text(
        "utf-8").rstrip("\f\n").split("\f")
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        scan = work / "scan.pdf"
        make_scan(SOURCE, scan, args.dpi)
        results = {"ocrpipe run": run_ocrpipe(scan, work / "ocrpipe")}
        results["ocrpipe export (writer only)"] = export_ocrpipe(scan, work / "ocrpipe")
        (work / "ocrmypdf").mkdir()
        results["ocrmypdf"] = run_ocrmypdf(args.ocrmypdf, scan, work / "ocrmypdf", args.jobs)
        size_in = scan.stat().st_size
        print(f"input: {SOURCE.name} rendered at {args.dpi} dpi, {len(truth)} pages, "
              f"{size_in / 1024:.0f} KB; {os.cpu_count()} cores")
        print("| tool | wall s | pages/s | output KB | vs input | CER | bag CER |")
        print("|---|---|---|---|---|---|---|")
        for name, (pdf, seconds) in results.items():
            rate, bag = page_cers(pdf, truth)
            size = pdf.stat().st_size
            print(f"| {name} | {seconds:.1f} | {len(truth) / seconds:.2f} | {size / 1024:.0f} "
                  f"| {size / size_in - 1:+.1%} | {rate:.3f} | {bag:.3f} |")


if __name__ == "__main__":
    main()
