"""Throughput benchmarks: `ocrpipe run` against a fake OCR service that is never the
bottleneck, so what is measured is the pipeline (DESIGN.md invariants 3 and 4).

One scenario: generate the inputs, start the testing kit's `FakeOcrServer` on loopback
(every call answered after a fixed latency with one fixed small block, signatures
checked, request bodies not kept), run `ocrpipe run JOB --no-progress` in a
subprocess with its own state database, and while it runs sample the memory of its
process tree from /proc. The figures (`Figures`):

- achieved QPS: calls the service received, less the limiter's initial burst, over the
  time from the first call to the last as the service saw them (`Call.received_at`;
  start-up and shutdown of ocrpipe excluded); divided by the configured QPS it should be 1.0;
- steady QPS: calls per second as a user watching the service would read it, over the
  run's middle (`steady_window`: its first and last second left out, where the bucket's
  burst and the last documents' tail are);
- CPU seconds per page: user + system time of ocrpipe and its worker processes
  (`RUSAGE_CHILDREN` of this process, which only ever has that one child) over pages;
- peak RSS: `VmHWM` (the kernel's high-water mark) of the ocrpipe process, of its
  largest worker, and the largest sum of `VmRSS` over the whole tree seen by the
  sampler (every 50 ms).

The fake answers a fixed text rather than echoing each page (`Reply.echo`): decoding every
page in this process would compete with ocrpipe for the cores being measured.

Linux only (/proc). `benchmarks/throughput.py` is the command line.
"""

from __future__ import annotations

import asyncio
import io
import math
import os
import resource
import secrets
import shutil
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import pikepdf
from PIL import Image, ImageDraw

from pipeline.ocr.policy import BURST_SECONDS
from pipeline.testing import FakeOcrServer, Reply

# a throwaway pair for the loopback fake service, made afresh for every benchmark run
BENCH_AK, BENCH_SK = "AKBENCH" + secrets.token_hex(4).upper(), secrets.token_hex(16)
PROJECT_ID = "0" * 32
ANSWER_TEXT = "Benchmark page"
PAGE_SIZE = (1240, 1754)
"""A4 at 150 dpi: a small scan."""
SAMPLE_EVERY = 0.05

Kind = Literal["images", "pdf"]


# --- the inputs --------------------------------------------------------------------------


def page_image(number: int, mode: str = "L") -> Image.Image:
    """A white A4 page (150 dpi) with a few lines of black text."""
    image = Image.new(mode, PAGE_SIZE, 255)
    draw = ImageDraw.Draw(image)
    for line in range(12):
        draw.text((120, 150 + 110 * line), f"Page {number}, line {line + 1}: ocrpipe "
                  "throughput benchmark, nothing to read here", fill=0, font_size=36)
    return image


def make_images(folder: Path, count: int, fmt: str = "png") -> Path:
    """`count` page images under `folder` (100 per sub-folder), hard links of one file."""
    folder.mkdir(parents=True, exist_ok=True)
    original = folder / f"original.{fmt}"
    page_image(1).save(original, dpi=(150, 150))
    for i in range(count):
        target = folder / f"batch{i // 100:03d}" / f"page{i:05d}.{fmt}"
        target.parent.mkdir(exist_ok=True)
        try:
            os.link(original, target)
        except OSError:  # no hard links here (another file system): copy
            shutil.copyfile(original, target)
    original.unlink()
    return folder


def make_pdf(path: Path, pages: int, distinct: int = 4) -> Path:
    """A `pages`-page PDF of `distinct` different bilevel scans, repeated.

    The scans are CCITT G4 images, not JPEG, so every page goes through the rasterizer
    (a page that is one JPEG would be sent as it is). The repeats share the scans'
    objects: 1,000 pages take about 260 KB.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    distinct = max(1, min(distinct, pages))
    images = [page_image(n + 1, "1") for n in range(distinct)]
    first = io.BytesIO()
    images[0].save(first, "PDF", save_all=True, append_images=images[1:], resolution=150.0)
    with pikepdf.open(io.BytesIO(first.getvalue())) as pdf:
        for index in range(distinct, pages):
            pdf.pages.append(pdf.pages[index % distinct])
        pdf.save(path)
    return path


# --- measuring the process tree ---------------------------------------------------------


def _status_kib(pid: int, key: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(key):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of `pid` so far (fields 14 and 15 of /proc/PID/stat)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / _TICK


def _descendants(pid: int) -> Iterator[int]:
    stack = [pid]
    while stack:
        current = stack.pop()
        yield current
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children", encoding="ascii") as f:
                    stack.extend(int(child) for child in f.read().split())
        except OSError:
            continue


@dataclass
class TreeMemory:
    """High-water marks of a process tree, in KiB, and its workers' CPU seconds, from
    polling /proc."""

    root: int
    root_hwm: int = 0
    worker_hwm: dict[int, int] = field(default_factory=dict)
    worker_cpu: dict[int, float] = field(default_factory=dict)
    tree_peak: int = 0
    samples: int = 0

    def sample(self) -> None:
        total = 0
        for pid in _descendants(self.root):
            rss = _status_kib(pid, "VmRSS:")
            hwm = _status_kib(pid, "VmHWM:")
            if rss is None or hwm is None:
                continue
            total += rss
            if pid == self.root:
                self.root_hwm = max(self.root_hwm, hwm)
            else:
                self.worker_hwm[pid] = max(self.worker_hwm.get(pid, 0), hwm)
                self.worker_cpu[pid] = _cpu_seconds(pid) or self.worker_cpu.get(pid, 0.0)
        self.tree_peak = max(self.tree_peak, total)
        self.samples += 1


# --- one scenario -------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    name: str
    kind: Kind
    pages: int
    qps: float = 50.0
    concurrency: int = 8
    latency: float = 0.05


@dataclass(frozen=True)
class Figures:
    scenario: str
    kind: str
    pages: int
    calls: int
    configured_qps: float
    achieved_qps: float
    qps_ratio: float
    steady_qps: float
    steady_qps_ratio: float
    cpu_seconds: float
    cpu_per_page: float
    parent_cpu_per_page: float
    """CPU of the ocrpipe process itself: the total less what the sampler saw the
    workers use (their last 50 ms before exit go uncounted, so this leans high)."""
    wall_seconds: float
    calls_seconds: float
    max_in_flight: int
    parent_peak_rss_mib: float
    worker_peak_rss_mib: float
    workers: int
    tree_peak_rss_mib: float
    exit_code: int


def steady_window(arrivals: Sequence[float], edge: float = 1.0) -> float:
    """Calls per second between `edge` seconds after the first arrival and `edge` before
    the last (the whole span when that leaves under a second)."""
    if len(arrivals) < 2:
        return 0.0
    start, end = arrivals[0] + edge, arrivals[-1] - edge
    if end - start < 1.0:
        start, end = arrivals[0], arrivals[-1]
    inside = sum(1 for t in arrivals if start <= t < end)
    return inside / (end - start) if end > start else 0.0


def limiter_burst(qps: float) -> int:
    """The calls `LimitedClient`'s bucket lets through at once at the start."""
    return max(2, math.ceil(qps * BURST_SECONDS))


def job_toml(name: str, source: Path, output: Path, url: str, scenario: Scenario) -> str:
    return "\n".join([
        f'name = "{name}"',
        "[source]", f'url = "{source}"',
        "[ocr]", f'endpoint = "{url}"', f'project_id = "{PROJECT_ID}"',
        f"qps = {scenario.qps}", f"concurrency = {scenario.concurrency}", "timeout = 60",
        # the pages are copies of one image: every one is sent, as the scenario measures calls
        "reuse_results = false",
        "[output]", f'url = "{output}"', 'formats = ["txt", "json"]', "",
    ])


def prepare_inputs(scenario: Scenario, workdir: Path) -> Path:
    """Make `workdir` afresh and generate the scenario's inputs under `workdir/in`."""
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    source = workdir / "in"
    if scenario.kind == "images":
        make_images(source, scenario.pages)
    else:
        make_pdf(source / "book.pdf", scenario.pages)
    return source


def fake_service(latency: float) -> FakeOcrServer:
    """The fake OCR service of a scenario: every call answered after `latency` seconds."""
    return FakeOcrServer(
        project_id=PROJECT_ID, credentials={BENCH_AK: BENCH_SK},
        default=Reply.ok((ANSWER_TEXT, 0.99), delay=latency), keep_bodies=False,
    )


async def run_scenario(
    scenario: Scenario, workdir: Path, ocrpipe: str | Sequence[str] | None = None,
    env_extra: Mapping[str, str] | None = None, db: str | None = None,
) -> Figures:
    """Run one scenario in `workdir` (made empty first) and measure it. `ocrpipe` is the
    command (default: the `ocrpipe` beside this Python); `env_extra` adds to its
    environment (a PYTHONPATH that points at another checkout, say). `ocrpipe` is one
    path or a command line. Its state goes in `db` (an OCRPIPE_DB value) or else
    workdir/state.db."""
    source = await asyncio.to_thread(prepare_inputs, scenario, workdir)
    if isinstance(ocrpipe, str):
        ocrpipe = [ocrpipe]
    command = list(ocrpipe or [str(Path(sys.executable).with_name("ocrpipe"))])
    async with fake_service(scenario.latency) as service:
        job = workdir / "job.toml"
        text = job_toml(f"bench-{scenario.name}", source, workdir / "out", service.url, scenario)
        await asyncio.to_thread(job.write_text, text)
        env = {**os.environ, "HUAWEICLOUD_SDK_AK": BENCH_AK, "HUAWEICLOUD_SDK_SK": BENCH_SK,
               "OCRPIPE_DB": db or str(workdir / "state.db"), **(env_extra or {})}
        cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        process = await asyncio.create_subprocess_exec(
            *command, "run", str(job), "--no-progress", env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )
        memory = TreeMemory(process.pid)
        output = asyncio.create_task(_read_all(process))
        exited = asyncio.create_task(process.wait())
        while not exited.done():
            memory.sample()
            await asyncio.wait({exited}, timeout=SAMPLE_EVERY)
        wall = time.monotonic() - started
        log = await output
        cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if process.returncode != 0:
        raise RuntimeError(
            f"ocrpipe exited {process.returncode} in scenario {scenario.name}:\n{log[-4000:]}"
        )
    if service.unsigned:
        raise RuntimeError(f"{service.unsigned} calls came without an AK/SK signature")
    calls = service.call_count
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    span = (service.calls[-1].received_at - service.calls[0].received_at) if calls else 0.0
    burst = limiter_burst(scenario.qps)
    achieved = (calls - burst) / span if span > 0 and calls > burst else 0.0
    steady = steady_window([call.received_at for call in service.calls])
    mib = 1 / 1024
    return Figures(
        scenario=scenario.name, kind=scenario.kind, pages=scenario.pages, calls=calls,
        configured_qps=scenario.qps, achieved_qps=round(achieved, 3),
        qps_ratio=round(achieved / scenario.qps, 4),
        steady_qps=round(steady, 3), steady_qps_ratio=round(steady / scenario.qps, 4),
        cpu_seconds=round(cpu, 3), cpu_per_page=round(cpu / scenario.pages, 5),
        parent_cpu_per_page=round((cpu - sum(memory.worker_cpu.values())) / scenario.pages, 5),
        wall_seconds=round(wall, 2), calls_seconds=round(span, 2),
        max_in_flight=service.max_in_flight,
        parent_peak_rss_mib=round(memory.root_hwm * mib, 1),
        worker_peak_rss_mib=round(max(memory.worker_hwm.values(), default=0) * mib, 1),
        workers=len(memory.worker_hwm),
        tree_peak_rss_mib=round(memory.tree_peak * mib, 1),
        exit_code=process.returncode,
    )


async def _read_all(process: asyncio.subprocess.Process) -> str:
    assert process.stdout is not None
    data = await process.stdout.read()
    return data.decode(errors="replace")


# --- the report -------------------------------------------------------------------------


COLUMNS = (
    ("scenario", "scenario", "{}"), ("pages", "pages", "{}"), ("calls", "calls", "{}"),
    ("QPS achieved/configured", "qps_ratio", "{:.3f}"), ("achieved QPS", "achieved_qps", "{:.2f}"),
    ("steady QPS ratio", "steady_qps_ratio", "{:.3f}"),
    ("CPU s/page", "cpu_per_page", "{:.4f}"),
    ("of which ocrpipe", "parent_cpu_per_page", "{:.4f}"), ("in flight", "max_in_flight", "{}"),
    ("RSS ocrpipe MiB", "parent_peak_rss_mib", "{:.1f}"),
    ("RSS worker MiB", "worker_peak_rss_mib", "{:.1f}"),
    ("RSS tree MiB", "tree_peak_rss_mib", "{:.1f}"), ("wall s", "wall_seconds", "{:.1f}"),
)


def table(figures: list[Figures]) -> str:
    rows = [[title for title, _, _ in COLUMNS]]
    for fig in figures:
        values = asdict(fig)
        rows.append([fmt.format(values[key]) for _, key, fmt in COLUMNS])
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True))
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def memory_ratio(small: Figures, large: Figures) -> dict[str, float]:
    """Peak RSS of the larger image run over the smaller one (target: <= 1.1)."""
    def ratio(a: float, b: float) -> float:
        return round(b / a, 3) if a else float("nan")
    return {
        "parent": ratio(small.parent_peak_rss_mib, large.parent_peak_rss_mib),
        "worker": ratio(small.worker_peak_rss_mib, large.worker_peak_rss_mib),
        "tree": ratio(small.tree_peak_rss_mib, large.tree_peak_rss_mib),
    }
