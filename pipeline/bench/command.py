"""`ocrpipe bench TARGET`: the click command (see `pipeline.bench` for the parts)."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import aiohttp
import click
from rich.console import Console

from pipeline.errors import ConfigError, ExitCode, OcrpipeError

EPILOG = """\b
Examples:
  ocrpipe bench fake                          # ocrpipe's own side, 50 ms fake service
  ocrpipe bench fake --fake-quota 30          # a fake that answers 429 above 30 calls/s
  ocrpipe bench embedded --qps 0.5,1,2 --concurrency 2
  ocrpipe bench http://127.0.0.1:8080         # an `ocrpipe serve` box
  ocrpipe bench https://ocr.cn-north-4.myhuaweicloud.com --project-id ID --qps 1,2,5

\b
Exit codes: 0 measured; 2 wrong arguments, no samples, no credentials, or a billing
endpoint without consent (--yes).
"""


def _floats(_ctx: object, _param: object, value: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of numbers") from None
    if not values or min(values) <= 0:
        raise click.BadParameter("give one or more positive numbers, e.g. 1,2,5,10")
    return values


def _ints(ctx: object, param: object, value: str) -> tuple[int, ...]:
    values = _floats(ctx, param, value)
    if any(v != int(v) for v in values):
        raise click.BadParameter("calls in flight are whole numbers, e.g. 1,4,16")
    return tuple(int(v) for v in values)


@click.command(epilog=EPILOG)
@click.argument("target")
@click.option("--samples", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Folder of PDFs/images to send (pages cycle) [default: jobs/samples].")
@click.option("--pages", type=click.IntRange(min=1), default=20, show_default=True,
              help="Use at most this many sample pages.")
@click.option("--concurrency", "concurrency", default="1,4,16", show_default=True,
              callback=_ints, help="Calls in flight to try (comma-separated).")
@click.option("--qps", default="1,2,5,10,20,50,100,200", show_default=True, callback=_floats,
              help="QPS ladder climbed at each concurrency (comma-separated).")
@click.option("--seconds", type=click.FloatRange(min=0, min_open=True), default=5.0,
              show_default=True, help="Length of a step: it sends QPS x seconds calls...")
@click.option("--min-calls", type=click.IntRange(min=1), default=10, show_default=True,
              help="...and at least this many.")
@click.option("--max-429", type=click.FloatRange(0, 1), default=0.05, show_default=True,
              help="Share of 429 answers in a step (still seen in its last third) that "
                   "stops the climb.")
@click.option("--api", default="general-text", show_default=True, help="OCR API to call.")
@click.option("--project-id", default=None, help="The {project_id} of a remote endpoint's "
              "URLs (required for anything not on loopback).")
@click.option("--enterprise-project", default=None,
              help="Use this project's key pair from the credentials file.")
@click.option("--fake-latency", type=click.FloatRange(min=0), default=0.05, show_default=True,
              help="fake: seconds before each answer.")
@click.option("--fake-quota", type=click.FloatRange(min=0, min_open=True), default=None,
              help="fake: answer 429 above this many calls per second.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="embedded: engine processes [default: number of cores].")
@click.option("--engine", type=click.Choice(["rapidocr", "auto", "tesseract"]), default="rapidocr",
              show_default=True, help="embedded: the engine (as [ocr] embedded_engine).")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False),
              default=Path("bench-results"), show_default=True,
              help="Folder for bench-<time>.csv, .json and .png.")
@click.option("--yes", is_flag=True, help="Do not ask before calling a billing endpoint.")
def bench(target: str, samples: Path | None, pages: int, concurrency: tuple[int, ...],
          qps: tuple[float, ...], seconds: float, min_calls: int, max_429: float, api: str,
          project_id: str | None, enterprise_project: str | None, fake_latency: float,
          fake_quota: float | None, workers: int | None, engine: str, out: Path,
          yes: bool) -> None:
    """Measure how fast TARGET recognises your pages: 'embedded' (the offline engine a job
    gets), 'fake' (a fixed-latency loopback fake: ocrpipe's own ceiling) or a URL
    (`ocrpipe serve`, Huawei Cloud).

    For each number of calls in flight, the QPS climbs its ladder; each step sends about
    QPS x --seconds calls (the sample pages in turn) through the same OCR client and
    limiter a job uses, each call once (a 429 is counted, not retried). Per step: pages/s
    achieved, latency p50/p95/p99, 429 and error rates. A concurrency stops climbing when
    a step falls short of its QPS; the whole sweep stops at the first step with sustained
    429s. The verdict is the highest rate sustained without them.

    Prints a table and writes a CSV, a JSON and a PNG plot under --out. A URL not on
    loopback may bill every call: the number of calls is stated and confirmed first
    (--yes skips the question; without a terminal, --yes is required). Credentials as
    for jobs: HUAWEICLOUD_SDK_AK/SK or the credentials file; never printed.
    """
    from pipeline.bench.report import print_table, write_csv, write_json, write_plot
    from pipeline.bench.samples import DEFAULT_SAMPLES, load_requests
    from pipeline.bench.sweep import Plan, StepResult, SweepResult, run_sweep
    from pipeline.bench.targets import FakeSettings, kind_of, may_bill, open_target
    from pipeline.ocr.client import OcrClient

    console = Console()
    try:
        kind_of(target)
        plan = Plan(concurrency=concurrency, qps=qps, seconds=seconds, min_calls=min_calls,
                    max_429=max_429)
        if may_bill(target):
            _consent(target, plan.max_calls, yes)
        folder = samples if samples is not None else DEFAULT_SAMPLES
        requests = load_requests(folder, api=api, max_pages=pages)
        console.print(f"{len(requests)} sample pages from {folder}; up to {plan.max_calls} "
                      f"calls in {len(plan.steps())} steps", style="dim")

        async def measure() -> tuple[str, SweepResult]:
            async with open_target(
                target, project_id=project_id, enterprise_project=enterprise_project,
                fake=FakeSettings(fake_latency, fake_quota), workers=workers, engine=engine,
            ) as endpoint, aiohttp.ClientSession() as session:
                client = OcrClient(session, endpoint=endpoint.url,
                                   project_id=endpoint.project_id,
                                   credentials=endpoint.credentials,
                                   enterprise_project_id=enterprise_project)

                def progress(step: StepResult) -> None:
                    console.print(f"  {step.concurrency} in flight, qps {step.qps:g}: "
                                  f"{step.pages_per_s:.1f} pages/s", style="dim")

                return endpoint.label, await run_sweep(client, requests, plan, progress)

        label, result = asyncio.run(measure())
    except OcrpipeError as exc:
        click.echo(f"ocrpipe: error: {exc}", err=True)
        sys.exit(getattr(exc, "exit_code", ExitCode.CONFIG))
    print_table(result, plan, label, console)
    out.mkdir(parents=True, exist_ok=True)
    stem = out / time.strftime("bench-%Y%m%d-%H%M%S")
    meta = {"target": label, "samples": str(folder), "sample_pages": len(requests),
            "api": api}
    write_csv(result, stem.with_suffix(".csv"))
    write_json(result, plan, stem.with_suffix(".json"), meta)
    write_plot(result, plan, stem.with_suffix(".png"), label)
    for suffix in (".csv", ".json", ".png"):
        click.echo(str(stem.with_suffix(suffix)))


def _consent(target: str, calls: int, yes: bool) -> None:
    """State the number of calls a billing endpoint gets; ask, or refuse without a terminal."""
    message = (f"ocrpipe bench will send up to {calls} OCR calls to {target}; "
               "a cloud endpoint bills each one")
    click.echo(message, err=True)
    if yes:
        return
    if not sys.stdin.isatty():
        raise ConfigError(
            f"not sending {calls} possibly billed calls without consent: run again with "
            "--yes, or lower --qps/--seconds/--concurrency first"
        )
    if not click.confirm("Continue?", default=False, err=True):
        raise ConfigError("cancelled: no call was sent")
