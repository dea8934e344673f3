"""Pages/s and CER of the embedded service, per engine, on the same corpus pages.

    .venv/bin/python -m benchmarks.engines [--engines rapidocr,tesseract,auto]
        [--layouts 2x1,1x2] [--pages GLOB] [--detect-direction] [--no-language]

For each engine and layout (worker processes x threads each) it starts the service on
loopback (no auth), sends every page of jobs/samples (and of ../shared/corpus/pages when
present: benchmarks/inputs.py) that has a `.gt.txt`
(the 12 MP phone photos left out unless --pages says otherwise) with `workers * 2` calls in
flight, and prints the wall-clock pages/s and the CER of each page (pipeline/testing/cer.py
normalisation) with the character-weighted mean; "bag CER" compares the characters
sorted, so reading-order differences do not count. Pages named `*_zh_*` are sent with
language "zh", the others with "en" (RapidOCR reads both with one model; Tesseract picks
eng or chi_sim+eng); with --no-language no language is sent, as `ocrpipe run` does by
default (the "auto" engine then routes each page by its script). Needs tesserocr and
Debian's tesseract-ocr-eng/-chi-sim/-osd for Tesseract.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import sys
import time
from pathlib import Path

import aiohttp

from benchmarks.inputs import pages_with_truth
from pipeline.service import engine as engine_module
from pipeline.service.app import ServiceLimits
from pipeline.service.server import ServiceConfig, running_service
from pipeline.testing.cer import cer, normalize

ROOT = Path(__file__).resolve().parents[1]

SKIP = ("photo_svt_",)


def corpus_pages(pattern: str) -> list[Path]:
    """Pages with ground truth: the shipped samples (jobs/samples), then the shared
    corpus's pages when it is present (benchmarks/inputs.py)."""
    return [p for p in pages_with_truth() if p.match(pattern) and not p.name.startswith(SKIP)]


async def one_page(
    session: aiohttp.ClientSession, url: str, page: Path, detect: bool, language: bool = True,
) -> tuple[str, float]:
    data = await asyncio.to_thread(page.read_bytes)
    body: dict[str, object] = {
        "image": base64.b64encode(data).decode(),
        "detect_direction": detect,
    }
    if language:
        body["language"] = "zh" if "_zh_" in page.name else "en"
    async with session.post(f"{url}/v2/bench/ocr/general-text", json=body) as response:
        data = await response.json()
    if response.status != 200:
        raise RuntimeError(f"{page.name}: HTTP {response.status} {data}")
    return "\n".join(b["words"] for b in data["result"]["words_block_list"]), 0.0


async def run(engine: str, workers: int, threads: int, pages: list[Path], detect: bool,
              language: bool = True) -> None:
    # The engine gives each worker cores // workers threads: fake the core count for layouts
    # that use fewer threads than cores.
    cores = engine_module.available_cores
    engine_module.available_cores = lambda: workers * threads
    # a dense page on a loaded 2-core machine can take minutes: no 504 from the service
    config = ServiceConfig(port=0, workers=workers, auth_required=False, engine=engine,
                           limits=ServiceLimits(request_timeout=590.0))
    try:
        async with running_service(config) as url, aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=600)
        ) as session:
            limit = asyncio.Semaphore(workers * 2)

            async def bounded(page: Path) -> tuple[str, float]:
                async with limit:
                    return await one_page(session, url, page, detect, language)

            started = time.perf_counter()
            texts = await asyncio.gather(*(bounded(page) for page in pages))
            elapsed = time.perf_counter() - started
    finally:
        engine_module.available_cores = cores
    total_chars = total_errors = total_bag = 0.0
    print(f"\n{engine} {workers}x{threads}: {len(pages)} pages in {elapsed:.1f} s = "
          f"{len(pages) / elapsed:.3f} pages/s")
    for page, (text, _) in zip(pages, texts, strict=True):
        reference = page.with_suffix(".gt.txt").read_text(encoding="utf-8")
        error = cer(text, reference)
        bag = cer(_sorted_chars(text), _sorted_chars(reference))
        chars = len(normalize(reference))
        total_chars += chars
        total_errors += error * chars
        total_bag += bag * chars
        print(f"  {page.name:36} {chars:6d} chars  CER {error:.3f}  bag CER {bag:.3f}")
    print(f"  weighted CER {total_errors / max(total_chars, 1):.3f}, "
          f"bag CER {total_bag / max(total_chars, 1):.3f}")


def _sorted_chars(text: str) -> str:
    """The text's characters sorted: a CER that ignores reading order (multi-column pages
    whose ground truth lists blocks in another order)."""
    return "".join(sorted(normalize(text).replace(" ", "")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engines", default="rapidocr,tesseract")
    parser.add_argument("--layouts", default="2x1", help="workers x threads, comma-separated")
    parser.add_argument("--pages", default="*", help="glob on the page file names")
    parser.add_argument("--detect-direction", action="store_true")
    parser.add_argument("--no-language", action="store_true",
                        help="send no language (auto: route each page by its script)")
    args = parser.parse_args()
    pages = corpus_pages(args.pages)
    if not pages:
        sys.exit(f"no pages with ground truth match {args.pages!r}")
    for engine in args.engines.split(","):
        for layout in args.layouts.split(","):
            workers, threads = (int(n) for n in layout.split("x"))
            asyncio.run(run(engine, workers, threads, pages, args.detect_direction,
                            not args.no_language))


if __name__ == "__main__":
    main()
