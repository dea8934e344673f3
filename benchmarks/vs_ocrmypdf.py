"""Searchable PDF: ocrpipe against OCRmyPDF on English and Chinese scans, in one run.

    .venv/bin/python -m benchmarks.vs_ocrmypdf [--langs en,zh] [--rounds 2]
        [--engines auto,rapidocr] [--ocrmypdf PATH] [--jobs 2] [--dpi 200]

The scans are made here from born-digital PDFs with ground truth: English
docling_multi_page.pdf (5 pages, shipped in jobs/samples) and Chinese
rapiddoc_zh_byd_2025q1_report.pdf (its first --zh-pages pages; read from
../shared/corpus, skipped when absent: it may not be shipped). Each page is rendered at
--dpi in grey and stored as a JPEG (quality 80) in an image-only PDF, like a scanner's
output. Both tools turn it into a searchable PDF: ocrpipe with `ocrpipe run` (the
embedded service, once per engine in --engines: "auto" is the default, "rapidocr" was
the default before it), OCRmyPDF (Tesseract, `-l eng` / `-l chi_sim+eng`,
`-j JOBS --output-type pdf --optimize 0`: its fastest output without PDF/A). OCRmyPDF is
not a dependency: `python3 -m venv /tmp/ocrmypdf-venv && /tmp/ocrmypdf-venv/bin/pip
install ocrmypdf`, plus `apt-get install tesseract-ocr tesseract-ocr-eng
tesseract-ocr-chi-sim tesseract-ocr-osd ghostscript`.

The machine is shared and noisy: each round runs every tool once, the order turned
round by round, and the ratio of ocrpipe's pages/s to OCRmyPDF's is taken within each
round. Reported per language and tool: wall time (ocrpipe's includes starting its OCR
service), pages/s, output size against the input, the CER of `pdftotext` of each output
against the ground truth, page by page (pipeline/testing/cer.py normalisation; "bag CER"
ignores reading order), and the per-round pages/s ratios against OCRmyPDF.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pikepdf
import pypdfium2 as pdfium

from pipeline.testing.cer import cer, normalize

ROOT = Path(__file__).resolve().parents[1]

SOURCES = {
    "en": ROOT / "jobs" / "samples" / "pdfs" / "docling_multi_page.pdf",  # shipped (MIT)
    "zh": ROOT.parent / "shared" / "corpus" / "pdfs" / "rapiddoc_zh_byd_2025q1_report.pdf",
}
OCRMYPDF_LANGUAGES = {"en": "eng", "zh": "chi_sim+eng"}


def make_scan(source: Path, target: Path, dpi: int, pages: int | None = None) -> None:
    """An image-only PDF: each page of `source` (the first `pages`) as a grey JPEG at `dpi`."""
    pdf, scan = pdfium.PdfDocument(str(source)), pikepdf.new()
    for index, page in enumerate(pdf):
        if pages is not None and index >= pages:
            break
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


def run_ocrpipe(scan: Path, work: Path, engine: str,
                formats: tuple[str, ...] = ("pdf",)) -> tuple[Path, float]:
    work.mkdir(parents=True)
    (work / "in").mkdir()
    os.link(scan, work / "in" / scan.name)
    (work / "job.toml").write_text(
        'name = "vs-ocrmypdf"\n[source]\nurl = "in"\n'
        f'[ocr]\nembedded_engine = "{engine}"\n'
        f'[output]\nurl = "out"\nformats = {list(formats)!r}\n'.replace("'", '"')
    )
    env = {**os.environ, "OCRPIPE_DB": str(work / "state.db"), "PYTHONPATH": str(ROOT)}
    seconds = timed([sys.executable, "-m", "pipeline", "run", "job.toml", "--no-progress"],
                    cwd=work, env=env)
    return work / "out" / f"{scan.name}.pdf", seconds


def run_ocrmypdf(ocrmypdf: str, scan: Path, work: Path, jobs: int,
                 language: str) -> tuple[Path, float]:
    work.mkdir(parents=True)
    out = work / "ocrmypdf.pdf"
    seconds = timed([ocrmypdf, "-q", "-l", language, "-j", str(jobs), "--output-type", "pdf",
                     "--optimize", "0", str(scan), str(out)])
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


def truth_of(source: Path, pages: int | None) -> list[str]:
    text = source.with_name(source.name.removesuffix(".pdf") + ".gt.txt").read_text("utf-8")
    truth = text.rstrip("\f\n").split("\f")
    return truth[:pages] if pages is not None else truth


def bench_language(lang: str, args: argparse.Namespace, work: Path) -> None:
    source = SOURCES[lang]
    if not source.exists():
        print(f"{lang}: {source} not found (../shared/corpus is not shipped): skipped\n")
        return
    pages = args.zh_pages if lang == "zh" else None
    truth = truth_of(source, pages)
    scan = work / f"scan-{lang}.pdf"
    make_scan(source, scan, args.dpi, pages)
    tools = [f"ocrpipe {engine}" for engine in args.engines] + ["ocrmypdf"]
    seconds: dict[str, list[float]] = {tool: [] for tool in tools}
    outputs: dict[str, Path] = {}
    for round_ in range(args.rounds):
        order = tools if round_ % 2 == 0 else tools[::-1]
        for tool in order:
            folder = work / f"{lang}-{round_}-{tool.replace(' ', '-')}"
            if tool == "ocrmypdf":
                pdf, took = run_ocrmypdf(args.ocrmypdf, scan, folder, args.jobs,
                                         OCRMYPDF_LANGUAGES[lang])
            else:
                pdf, took = run_ocrpipe(scan, folder, tool.split()[1])
            seconds[tool].append(took)
            outputs[tool] = pdf
            print(f"  {lang} round {round_ + 1}: {tool} {took:.1f} s", file=sys.stderr,
                  flush=True)
    size_in = scan.stat().st_size
    print(f"{lang}: {source.name} rendered at {args.dpi} dpi, {len(truth)} pages, "
          f"{size_in / 1024:.0f} KB; {os.cpu_count()} cores; {args.rounds} rounds")
    print("| tool | wall s (median) | pages/s | output KB | vs input | CER | bag CER "
          "| pages/s / OCRmyPDF's, per round |")
    print("|---|---|---|---|---|---|---|---|")
    for tool in tools:
        pdf = outputs[tool]
        rate, bag = page_cers(pdf, truth)
        size = pdf.stat().st_size
        median = statistics.median(seconds[tool])
        ratios = ", ".join(f"{theirs / ours:.2f}" for ours, theirs
                           in zip(seconds[tool], seconds["ocrmypdf"], strict=True))
        print(f"| {tool} | {median:.1f} | {len(truth) / median:.2f} | {size / 1024:.0f} "
              f"| {size / size_in - 1:+.1%} | {rate:.3f} | {bag:.3f} | {ratios} |")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ocrmypdf", default="/tmp/ocrmypdf-venv/bin/ocrmypdf")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--dpi", type=int, default=200)
    parser.add_argument("--langs", default="en,zh", help="en, zh or both (en,zh)")
    parser.add_argument("--engines", default="auto,rapidocr",
                        help="embedded engines of ocrpipe to run (comma-separated)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--zh-pages", type=int, default=3, help="pages of the Chinese PDF")
    args = parser.parse_args()
    args.engines = [e for e in args.engines.split(",") if e]
    with tempfile.TemporaryDirectory() as folder:
        for lang in [x for x in args.langs.split(",") if x]:
            bench_language(lang, args, Path(folder))


if __name__ == "__main__":
    main()
