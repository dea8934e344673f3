"""Does the pipeline reach the configured QPS, at what CPU cost, in flat memory?

Runs `ocrpipe run` in a subprocess against a fake OCR service on loopback (fixed
latency, no engine: the testing kit's `FakeOcrServer`, see `benchmarks/harness.py`) for
three inputs: 1,000 page images, 10,000 page images, and one 1,000-page PDF. Prints one
table and writes the figures to a JSON file: achieved/configured QPS, CPU seconds per
page, peak RSS (ocrpipe, its largest worker, the whole tree) and the 10,000 / 1,000
image-run RSS ratio.

    .venv/bin/python -m benchmarks.throughput            # 1,000 / 10,000 / 1,000-page PDF
    .venv/bin/python -m benchmarks.throughput --quick    # 200 / 2,000 / 200-page PDF
    .venv/bin/python -m benchmarks.throughput --qps 20 --pdf-qps 10 --latency 0.2

Targets (issue #3): QPS ratio >= 0.97 while the service is not the bottleneck (it
allows concurrency / latency calls per second: 160 with the defaults), and peak RSS at
10,000 pages within 1.1x of 1,000.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

from benchmarks.harness import Figures, Scenario, memory_ratio, run_scenario, table

QPS_TARGET, RSS_TARGET = 0.97, 1.1


def scenarios(args: argparse.Namespace) -> list[Scenario]:
    small, large, pdf = (200, 2000, 200) if args.quick else (1000, 10000, 1000)
    if args.scale != 1.0:
        small, large, pdf = (max(1, round(n * args.scale)) for n in (small, large, pdf))
    common = {"concurrency": args.concurrency, "latency": args.latency}
    return [
        Scenario(f"images-{small}", "images", small, qps=args.qps, **common),
        Scenario(f"images-{large}", "images", large, qps=args.qps, **common),
        Scenario(f"pdf-{pdf}", "pdf", pdf, qps=args.pdf_qps or args.qps, **common),
    ]


async def run_all(args: argparse.Namespace) -> list[Figures]:
    results = []
    with tempfile.TemporaryDirectory(prefix="ocrpipe-bench-") as tmp:
        for scenario in scenarios(args):
            print(f"running {scenario.name} ({scenario.pages} pages at {scenario.qps:g} QPS, "
                  f"{scenario.concurrency} in flight, {scenario.latency * 1000:g} ms latency)"
                  "...", file=sys.stderr, flush=True)
            figures = await run_scenario(scenario, Path(tmp) / scenario.name)
            if figures.calls != figures.pages:
                raise SystemExit(f"{scenario.name}: {figures.calls} calls for "
                                 f"{figures.pages} pages")
            results.append(figures)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="200 / 2,000 / 200 pages")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every page count")
    parser.add_argument("--qps", type=float, default=50.0, help="configured QPS (50)")
    parser.add_argument("--pdf-qps", type=float, default=None, help="QPS of the PDF run")
    parser.add_argument("--concurrency", type=int, default=8, help="calls in flight (8)")
    parser.add_argument("--latency", type=float, default=0.05, help="service latency, s")
    parser.add_argument("--json", type=Path, default=Path("bench-results/throughput.json"))
    args = parser.parse_args()
    if args.concurrency / args.latency < args.qps * 1.5:
        print("warning: the service allows only "
              f"{args.concurrency / args.latency:g} calls/s: it may be the bottleneck",
              file=sys.stderr)
    results = asyncio.run(run_all(args))
    small, large = results[0], results[1]
    ratios = memory_ratio(small, large)
    print(table(results))
    print(f"\npeak RSS {large.pages} / {small.pages} images: ocrpipe {ratios['parent']:.3f}x, "
          f"largest worker {ratios['worker']:.3f}x, whole tree {ratios['tree']:.3f}x "
          f"(target <= {RSS_TARGET})")
    qps_ok = all(f.qps_ratio >= QPS_TARGET for f in results)
    rss_ok = ratios["tree"] <= RSS_TARGET
    print(f"QPS target (>= {QPS_TARGET} of configured): {'met' if qps_ok else 'MISSED'}; "
          f"RSS target (<= {RSS_TARGET}x): {'met' if rss_ok else 'MISSED'}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "scenarios": [asdict(f) for f in results],
        "rss_ratio_large_over_small": ratios,
        "targets": {"qps_ratio": QPS_TARGET, "rss_ratio": RSS_TARGET,
                    "qps_met": qps_ok, "rss_met": rss_ok},
    }, indent=2) + "\n")
    print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
