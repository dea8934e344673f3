"""What the JSON result's paragraphs cost (pipeline/layout_json.py): the JSON writer now
lays out the whole document, and the file grows; export then reads the layout back
instead of computing it.

    .venv/bin/python -m benchmarks.json_paragraphs [--pages 30] [--rounds 5]

A synthetic report of `--pages` pages (a title, two columns of 24 lines, a table, a
running head and a page number per page, with layout regions), so the figures do not
depend on an OCR engine. Prints the median milliseconds per page of: the JSON without
paragraphs (blocks and regions only, as before), the JSON with them, the Word file from
a result without paragraphs (layout computed) and from one with them (layout read), and
the two JSON files' sizes. Compare within one run: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from statistics import median

from pipeline.models import (
    Block,
    DocumentResult,
    OcrResult,
    PageGeometry,
    PageResult,
    Region,
    SourceObject,
    page_from_dict,
    page_to_dict,
)
from pipeline.writers import WRITERS, WriteOptions

WIDTH, HEIGHT = 1240, 1754


def _block(text: str, x: int, y: int, w: int, h: int = 28) -> Block:
    return Block.rect(text, x, y, w, h, 0.95)


def report(pages: int) -> DocumentResult:
    def page(n: int) -> PageResult:
        blocks = [_block("Annual Report Of The Company", 100, 40, 500, 24),
                  _block(f"Section {n + 1} Of The Report", 250, 150, 740, 60)]
        for side, x in (("left", 100), ("right", 660)):
            blocks += [_block(f"{side} column line {i} of prose that runs on", x, 260 + 36 * i,
                              460) for i in range(24)]
        for r in range(4):
            blocks += [_block(f"cell {r} {c}", 100 + 300 * c, 1200 + 50 * r, 200)
                       for c in range(3)]
        blocks.append(_block(str(n + 1), 600, 1680, 40, 24))
        regions = (Region("header", (95, 35, 605, 70)), Region("title", (240, 140, 1000, 220)),
                   Region("text", (90, 250, 570, 1130)), Region("text", (650, 250, 1130, 1130)),
                   Region("table", (90, 1190, 1000, 1400)))
        return PageResult(n, OcrResult(tuple(blocks), WIDTH, HEIGHT),
                          PageGeometry(WIDTH, HEIGHT, WIDTH, HEIGHT, 150.0), regions)

    return DocumentResult(SourceObject("report.pdf", "/in/report.pdf", 1),
                          tuple(page(n) for n in range(pages)))


def _plain_json(doc: DocumentResult) -> bytes:
    """The JSON as written before paragraphs (schema 1)."""
    body = {"schema": 1, "source": {"key": doc.source.key, "size": doc.source.size},
            "page_count": len(doc.pages), "pages": [page_to_dict(p) for p in doc.pages]}
    return json.dumps(body, ensure_ascii=False, indent=1).encode("utf-8")


def _loaded(data: bytes) -> DocumentResult:
    body = json.loads(data)
    return DocumentResult(SourceObject("report.pdf", "", 1),
                          tuple(page_from_dict(p) for p in body["pages"]))


def _ms_per_page(work: Callable[[], object], pages: int, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return 1000 * median(times) / pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    doc, options = report(args.pages), WriteOptions()
    plain, full = _plain_json(doc), WRITERS["json"].render(doc, None, options)
    old, new = _loaded(plain), _loaded(full)
    rows = [
        ("json without paragraphs", _ms_per_page(lambda: _plain_json(doc), args.pages,
                                                 args.rounds)),
        ("json with paragraphs", _ms_per_page(lambda: WRITERS["json"].render(doc, None, options),
                                              args.pages, args.rounds)),
        ("docx, layout computed", _ms_per_page(lambda: WRITERS["docx"].render(old, None, options),
                                               args.pages, args.rounds)),
        ("docx, layout from the json", _ms_per_page(
            lambda: WRITERS["docx"].render(new, None, options), args.pages, args.rounds)),
    ]
    print(f"{args.pages} pages, median of {args.rounds} rounds")
    for name, ms in rows:
        print(f"  {name:<28} {ms:8.2f} ms/page")
    print(f"  json size: {len(plain) / 1024:.0f} KiB without paragraphs, "
          f"{len(full) / 1024:.0f} KiB with ({len(full) / len(plain):.2f}x)")


if __name__ == "__main__":
    main()
