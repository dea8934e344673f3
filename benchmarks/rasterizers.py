"""Which PDF rasterizer is faster: PDFium (pypdfium2) or poppler (pdf2image / pdftoppm)?

Renders every page of the shipped sample PDFs (jobs/samples/pdfs), a generated 4-page
scan, and the corpus PDFs (../shared/corpus/pdfs/*.pdf) when present, through
`pipeline.render.render_page`, exactly as a worker does (one call per page, the document
opened afresh each time), with each rasterizer at each DPI, and prints seconds per page
and the ratio. Rasterizers alternate page by page so that both see the same cache state.

    .venv/bin/python -m benchmarks.rasterizers                 # 200 and 300 dpi, 1 round
    .venv/bin/python -m benchmarks.rasterizers --rounds 3 --per-file
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

from benchmarks.inputs import benchmark_pdfs
from pipeline.render import RASTERIZERS, inspect_document, render_page


def time_page(path: Path, index: int, dpi: int, rasterizer: str) -> float:
    start = time.perf_counter()
    image, _ = render_page(str(path), index, dpi=dpi, rasterizer=rasterizer)
    elapsed = time.perf_counter() - start
    image.close()
    return elapsed


def measure(
    pdfs: list[Path], dpis: list[int], rounds: int
) -> dict[tuple[int, str, str], list[float]]:
    """{(dpi, rasterizer, file name): [seconds per page render, ...]}"""
    times: dict[tuple[int, str, str], list[float]] = defaultdict(list)
    for path in pdfs:  # warm-up: load libraries, start poppler once, fill the page cache
        for rasterizer in RASTERIZERS:
            time_page(path, 0, 72, rasterizer)
    for _ in range(rounds):
        for dpi in dpis:
            for path in pdfs:
                for index in range(inspect_document(str(path)).page_count):
                    for rasterizer in RASTERIZERS:
                        seconds = time_page(path, index, dpi, rasterizer)
                        times[dpi, rasterizer, path.name].append(seconds)
    return times


def report(times: dict[tuple[int, str, str], list[float]], dpis: list[int], per_file: bool) -> None:
    fast, slow = RASTERIZERS
    print(f"{'dpi':>4}  {'renders':>7}  {fast + ' s/page':>17}  {slow + ' s/page':>17}  "
          f"{slow + '/' + fast:>20}")
    for dpi in dpis:
        per = {r: [t for (d, rr, _), ts in times.items() if d == dpi and rr == r for t in ts]
               for r in RASTERIZERS}
        a, b = statistics.fmean(per[fast]), statistics.fmean(per[slow])
        print(f"{dpi:>4}  {len(per[fast]):>7}  {a:>17.3f}  {b:>17.3f}  {b / a:>19.1f}x")
    if not per_file:
        return
    print()
    print(f"{'dpi':>4}  {'file':<46} {fast:>10} {slow:>10} {'ratio':>6}")
    names = sorted({name for (_, _, name) in times})
    for dpi in dpis:
        for name in names:
            a = statistics.fmean(times[dpi, fast, name])
            b = statistics.fmean(times[dpi, slow, name])
            print(f"{dpi:>4}  {name[:46]:<46} {a:>10.3f} {b:>10.3f} {b / a:>5.1f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=None,
                        help="an extra folder of PDFs [default: ../shared/corpus/pdfs if present]")
    parser.add_argument("--dpi", type=int, nargs="+", default=[200, 300])
    parser.add_argument("--rounds", type=int, default=1, help="times each page is rendered")
    parser.add_argument("--per-file", action="store_true", help="also print a row per PDF")
    args = parser.parse_args()
    pdfs = benchmark_pdfs(args.corpus)
    pages = sum(inspect_document(str(p)).page_count for p in pdfs)
    folders = sorted({str(p.parent) for p in pdfs})
    print(f"{len(pdfs)} PDFs, {pages} pages from {', '.join(folders)}; mean seconds per page, "
          f"{args.rounds} round(s), render_page() end to end, one page per call")
    times = measure(pdfs, args.dpi, args.rounds)
    report(times, args.dpi, args.per_file)
    return 0


if __name__ == "__main__":
    sys.exit(main())
