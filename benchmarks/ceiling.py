"""The pipeline's own ceiling (issue 15): pages/s and CPU per page against a fast fake.

Runs `ocrpipe run` against the testing kit's `FakeOcrServer` (20 ms per call by
default) at a QPS far above what the pipeline can reach, so what is measured is the
pipeline itself: small page images (the harness's A4 150-dpi PNGs) and a PDF rendered at
200 dpi. CPU is user + system time of the whole process tree (ocrpipe and its worker
processes: `RUSAGE_CHILDREN` of this process, see `benchmarks/harness.py`).

With `--before DIR` (a checkout of an earlier commit: `git archive REF pipeline | tar -x
-C DIR`) each scenario runs alternately on that code (`PYTHONPATH=DIR python -P -m
pipeline`: `-P` keeps the working folder off `sys.path`) and on this one, `--rounds`
times, and the table gives after/before ratios of the medians: the machine is shared
and noisy, so only figures of the same run compare.

    .venv/bin/python -m benchmarks.ceiling                        # this code only
    .venv/bin/python -m benchmarks.ceiling --before bench-results/before --rounds 2

Targets: >= 200 pages/s and <= 5 ms CPU per image page; <= 30 ms CPU per PDF page.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
from pathlib import Path

from benchmarks.harness import Figures, Scenario, run_scenario

IMAGE_RATE_TARGET, IMAGE_CPU_TARGET, PDF_CPU_TARGET = 200.0, 0.005, 0.030


def scenarios(args: argparse.Namespace) -> list[Scenario]:
    common = {"qps": args.qps, "concurrency": args.concurrency, "latency": args.latency}
    return [
        Scenario(f"images-{args.images}", "images", args.images, **common),
        Scenario(f"pdf-{args.pdf}", "pdf", args.pdf, **common),
    ]


def pages_per_second(fig: Figures) -> float:
    """Pages over the time the service saw calls (start-up and shutdown excluded)."""
    return fig.pages / fig.calls_seconds if fig.calls_seconds > 0 else 0.0


def summary(runs: list[Figures]) -> dict[str, float]:
    return {
        "pages_per_s": round(statistics.median(pages_per_second(f) for f in runs), 1),
        "cpu_ms_per_page": round(statistics.median(f.cpu_per_page for f in runs) * 1000, 2),
        "parent_cpu_ms_per_page": round(
            statistics.median(f.parent_cpu_per_page for f in runs) * 1000, 2),
        "wall_s": round(statistics.median(f.wall_seconds for f in runs), 2),
        "max_in_flight": max(f.max_in_flight for f in runs),
    }


async def run_all(args: argparse.Namespace) -> dict[str, dict[str, dict[str, float]]]:
    variants: dict[str, tuple[list[str] | None, dict[str, str] | None]] = {
        "after": (None, None)}
    if args.before:
        variants = {
            "before": ([sys.executable, "-P", "-m", "pipeline"],
                       {"PYTHONPATH": str(args.before.resolve())}),
            **variants,
        }
    results: dict[str, dict[str, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="ocrpipe-ceiling-") as tmp:
        for scenario in scenarios(args):
            runs: dict[str, list[Figures]] = {name: [] for name in variants}
            for round_ in range(args.rounds):
                for name, (command, env) in variants.items():
                    print(f"{scenario.name} {name} round {round_ + 1}...", file=sys.stderr,
                          flush=True)
                    fig = await run_scenario(scenario, Path(tmp) / scenario.name, command, env)
                    if fig.calls != fig.pages:
                        raise SystemExit(f"{scenario.name} {name}: {fig.calls} calls for "
                                         f"{fig.pages} pages")
                    runs[name].append(fig)
            results[scenario.name] = {name: summary(r) for name, r in runs.items()}
    return results


def report(results: dict[str, dict[str, dict[str, float]]]) -> str:
    lines = [f"{'scenario':<14}{'code':<8}{'pages/s':>9}{'CPU ms/page':>13}"
             f"{'of which ocrpipe':>18}{'in flight':>11}{'wall s':>8}"]
    for scenario, variants in results.items():
        for name, s in variants.items():
            lines.append(f"{scenario:<14}{name:<8}{s['pages_per_s']:>9.1f}"
                         f"{s['cpu_ms_per_page']:>13.2f}{s['parent_cpu_ms_per_page']:>18.2f}"
                         f"{s['max_in_flight']:>11.0f}{s['wall_s']:>8.1f}")
        if "before" in variants:
            b, a = variants["before"], variants["after"]
            lines.append(f"{'':<14}{'ratio':<8}"
                         f"{a['pages_per_s'] / max(b['pages_per_s'], 1e-9):>8.2f}x"
                         f"{a['cpu_ms_per_page'] / max(b['cpu_ms_per_page'], 1e-9):>12.2f}x")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=1500, help="page images (1500)")
    parser.add_argument("--pdf", type=int, default=300, help="pages of the PDF (300)")
    parser.add_argument("--qps", type=float, default=1000.0, help="configured QPS (1000)")
    parser.add_argument("--concurrency", type=int, default=32, help="calls in flight (32)")
    parser.add_argument("--latency", type=float, default=0.02, help="service latency, s")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each variant")
    parser.add_argument("--before", type=Path, default=None,
                        help="a checkout of earlier code to compare with, run alternately")
    parser.add_argument("--json", type=Path, default=Path("bench-results/ceiling.json"))
    args = parser.parse_args()
    results = asyncio.run(run_all(args))
    print(report(results))
    images = next(iter(results.values()))["after"]
    pdf = list(results.values())[1]["after"]
    print(f"\ntargets: images >= {IMAGE_RATE_TARGET:g} pages/s "
          f"({'met' if images['pages_per_s'] >= IMAGE_RATE_TARGET else 'MISSED'}), "
          f"<= {IMAGE_CPU_TARGET * 1000:g} ms CPU/page "
          f"({'met' if images['cpu_ms_per_page'] <= IMAGE_CPU_TARGET * 1000 else 'MISSED'}); "
          f"PDF <= {PDF_CPU_TARGET * 1000:g} ms CPU/page "
          f"({'met' if pdf['cpu_ms_per_page'] <= PDF_CPU_TARGET * 1000 else 'MISSED'})")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"results": results, "args": {
        k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}},
        indent=2) + "\n")
    print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
