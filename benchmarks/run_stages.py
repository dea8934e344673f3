"""Where `ocrpipe run`'s time goes on a scanned PDF, stage by stage, per page.

    .venv/bin/python -m benchmarks.run_stages [--langs en,zh] [--engines auto,rapidocr]
        [--dpi 200] [--zh-pages 3]

The scans are benchmarks/vs_ocrmypdf.py's (an image-only PDF of grey JPEGs). Each stage
runs here in one process, one page at a time, so the figures are seconds of one core per
page: page preparation (`page_worker.prepare_page`: the page's own JPEG or a render),
the engine's parts (the auto engine's OSD, then the engine that reads the page, decoding
included), and the searchable PDF writer on the results. Also printed: how long the
embedded service takes to start its workers (`OcrEngine.start`, 2 workers: that is
wall time, paid once per run), and `ocrpipe run`'s wall time on the same scan for
comparison with the sum. The machine is shared: compare figures of one run.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.vs_ocrmypdf import SOURCES, make_scan, run_ocrpipe
from pipeline.export import load_result
from pipeline.page_worker import prepare_page
from pipeline.service.engine import OcrEngine, RecognizeOptions, make_backend, recognize_with
from pipeline.service.images import load_page_sized, to_bgr_array
from pipeline.writers import WriteOptions
from pipeline.writers.pdf import write_pdf


def seconds(work: object) -> float:
    started = time.perf_counter()
    work()  # type: ignore[operator]
    return time.perf_counter() - started


async def start_seconds(engine: str) -> float:
    pool = OcrEngine(2, engine=engine)
    started = time.perf_counter()
    await pool.start()
    took = time.perf_counter() - started
    await pool.close()
    return took


def stages(scan: Path, pages: int, engine: str, work: Path) -> dict[str, float]:
    """Seconds per page of each stage (and the run's wall time, per page)."""
    prepared = [prepare_page(str(scan), scan.name, i) for i in range(pages)]
    prepare = statistics.mean(seconds(lambda i=i: prepare_page(str(scan), scan.name, i))
                              for i in range(pages))
    backend = make_backend(engine, 1)
    recognize_with(backend, prepared[0].data, RecognizeOptions())  # load the models
    osd = read = 0.0
    tess: object = getattr(backend, "_tess", None)
    for page in prepared:
        if tess is not None:
            image, _ = load_page_sized(page.data, 1, getattr(backend, "max_side", None))
            bgr = to_bgr_array(image)
            osd += seconds(lambda bgr=bgr: tess.script_and_direction(bgr))  # type: ignore[attr-defined]
        read += seconds(lambda page=page: recognize_with(backend, page.data, RecognizeOptions()))
    out, wall = run_ocrpipe(scan, work / f"run-{engine}", engine, formats=("json", "pdf"))
    result = load_result(out.with_name(f"{scan.name}.json"), scan)
    write = seconds(lambda: write_pdf(result, str(scan), WriteOptions(), io.BytesIO()))
    return {
        "prepare": prepare,
        "osd": osd / pages,
        "engine (osd included)": read / pages,
        "pdf writer": write / pages,
        "service start (wall, once)": asyncio.run(start_seconds(engine)),
        "ocrpipe run wall / page": wall / pages,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--langs", default="en,zh")
    parser.add_argument("--engines", default="auto,rapidocr")
    parser.add_argument("--dpi", type=int, default=200)
    parser.add_argument("--zh-pages", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        for lang in args.langs.split(","):
            source = SOURCES[lang]
            if not source.exists():
                print(f"{lang}: {source} not found: skipped")
                continue
            scan = work / f"scan-{lang}.pdf"
            make_scan(source, scan, args.dpi, args.zh_pages if lang == "zh" else None)
            import pypdfium2 as pdfium

            pages = len(pdfium.PdfDocument(str(scan)))
            for engine in args.engines.split(","):
                found = stages(scan, pages, engine, work / f"{lang}-{engine}")
                print(f"{lang} ({pages} pages), engine {engine}: "
                      + ", ".join(f"{k} {v:.2f} s" for k, v in found.items()), flush=True)


if __name__ == "__main__":
    main()
