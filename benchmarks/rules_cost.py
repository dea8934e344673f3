"""What finding a table's ruled lines and gutters costs per page, beside the layout model
it follows (both run in the worker process while the OCR call is in flight).

    .venv/bin/python -m benchmarks.rules_cost [--rounds 5]

Inputs: the corpus pages with tables (../shared/corpus; skipped without it) and the
sample job's documents. Each page is prepared as it is sent to OCR, its regions found
once by the model (`layout_model.regions_of`); then the model and `table_rules.find_rules`
are timed on the same pixels, median of `--rounds`. Prints one line per page and the
median ratio of rules to model: a same-run ratio, so machine load cancels out.
"""

from __future__ import annotations

import argparse
import io
import time
from pathlib import Path
from statistics import median

import numpy as np
from PIL import Image

from pipeline.layout_model import regions_of
from pipeline.page_worker import prepare_page
from pipeline.render import inspect_document
from pipeline.table_rules import find_rules

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
CORPUS_PAGES = ("pages/omni_zh_research_report.jpg", "pages/scribe_table_02.png",
                "pages/scribe_table_08.png", "pdfs/docling_amt_handbook_sample.pdf",
                "pdfs/pdfplumber_senate_expenditures.pdf")


def pages() -> list[tuple[str, bytes]]:
    paths = [CORPUS / p for p in CORPUS_PAGES if (CORPUS / p).is_file()]
    paths += sorted(p for p in (ROOT / "jobs" / "samples").rglob("*")
                    if p.suffix.lower() in (".pdf", ".png", ".jpg", ".tif"))
    found = []
    for path in paths:
        for index in range(min(inspect_document(str(path)).page_count, 2)):
            page = prepare_page(str(path), path.name, index)
            found.append((f"{path.name}#{index + 1}", page.data))
    return found


def timed(run: object, rounds: int) -> float:
    assert callable(run)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"{'page':44} {'model s':>8} {'rules s':>8} {'ratio':>6} {'tables':>6} {'rules':>6}")
    ratios = []
    for name, data in pages():
        with Image.open(io.BytesIO(data)) as image:
            bgr = np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])
            gray = np.asarray(image.convert("L"))
        regions = regions_of(bgr)
        model = timed(lambda bgr=bgr: regions_of(bgr), args.rounds)
        rules = timed(lambda gray=gray, regions=regions: find_rules(gray, regions), args.rounds)
        searched = sum(r.kind in ("table", "figure") for r in regions)
        if searched:
            ratios.append(rules / model)
        print(f"{name:44} {model:8.3f} {rules:8.3f} {rules / model:6.1%} {searched:6d} "
              f"{len(find_rules(gray, regions)):6d}")
    print(f"median over the {len(ratios)} pages with tables or figures: rules cost "
          f"{median(ratios):.1%} of the layout model's time (pages without: nothing)")


if __name__ == "__main__":
    main()
