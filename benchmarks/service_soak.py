"""Does `ocrpipe serve` keep serving its valid clients while hostile ones hit it? (issue 11)

Runs the service (its real HTTP layer, auth, guards and engine queue, over a fake engine
that answers after a fixed latency: the real RapidOCR would make the run CPU-bound and
measure nothing but it) in a subprocess on loopback, twice for `--seconds`:

1. `--clients` valid clients from 127.0.0.1, each sending signed calls one after another;
2. the same, plus as many hostile clients from 127.0.0.2-127.0.0.9 (a separate process):
   slow headers, slow 12 MB bodies, bad signatures (the AK travels in clear), 12 MB bodies
   with bad signatures, deeply nested JSON, duplicated headers, made-up API paths.

It prints, and writes to a JSON file, the valid clients' p50/p95 latency, error rate and
calls per second in both runs, the ratios (hostile / quiet), and the service's peak RSS
and CPU time. All three processes share the machine's cores: on a small machine the
attackers' own CPU slows the valid clients too, which the service's CPU time tells apart.

    .venv/bin/python -m benchmarks.service_soak           # 200 + 200 clients, 60 s
    .venv/bin/python -m benchmarks.service_soak --quick   # 50 + 50 clients, 15 s
    .venv/bin/python -m benchmarks.service_soak --clients 100 --seconds 30
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

AK, SK, PROJECT = "SOAKAK", "soak-secret", "soakproject"
PATH = f"/v2/{PROJECT}/ocr/general-text"
BODY = json.dumps({"image": "aGVsbG8gc29hayB0ZXN0"}).encode()
HOSTILE_SOURCES = [f"127.0.0.{n}" for n in range(2, 10)]


# ---- the service (subprocess) --------------------------------------------------------


def serve(port_file: Path, latency: float, workers: int, clients: int) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from aiohttp import web

    from pipeline.service.app import CONNECTIONS, ServiceLimits, create_app
    from pipeline.service.authfile import AuthConfig
    from pipeline.service.connections import HTTP_LOGGER, GuardedSite
    from pipeline.service.engine import OcrEngine, PageText, RecognizeOptions
    from pipeline.service.server import LINGERING_S

    def answer(image: str | bytes, options: RecognizeOptions) -> PageText:
        time.sleep(latency)
        return PageText((), 100, 100, seconds=latency)

    def fake_engine() -> OcrEngine:  # the real queue over threads that only wait
        return OcrEngine(workers, engine="fake", queue_size=clients * 2,
                         executor=lambda: ThreadPoolExecutor(1), work=answer)

    async def main() -> None:
        limits = ServiceLimits(header_timeout=5.0, body_timeout=10.0,
                        max_connections_per_address=max(128, clients + 16))
        app = create_app(fake_engine(), AuthConfig(credentials={AK: SK}), limits=limits)
        runner = web.AppRunner(app, access_log=None, keepalive_timeout=limits.idle_timeout,
                               logger=HTTP_LOGGER, lingering_time=LINGERING_S)
        await runner.setup()
        site = GuardedSite(runner, app[CONNECTIONS], host="127.0.0.1", port=0)
        await site.start()
        await asyncio.to_thread(port_file.write_text, str(site.port))
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        await runner.cleanup()

    asyncio.run(main())


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM"):
            return int(line.split()[1]) / 1024
    return float("nan")


# ---- the clients -----------------------------------------------------------------------


def signed(port: int, body: bytes, sk: str = SK) -> dict[str, str]:
    from pipeline.protocol.signing import sign_request

    headers = {"Content-Type": "application/json", "X-Project-Id": PROJECT}
    return sign_request("POST", f"http://127.0.0.1:{port}{PATH}", headers, body, AK, sk)


async def valid_clients(port: int, clients: int, seconds: float) -> dict[str, Any]:
    import aiohttp

    latencies: list[float] = []
    errors: dict[str, int] = {}
    deadline = time.monotonic() + seconds

    async def client(session: aiohttp.ClientSession) -> None:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                async with session.post(f"http://127.0.0.1:{port}{PATH}", data=BODY,
                                        headers=signed(port, BODY)) as response:
                    await response.read()
                    status = str(response.status)
            except (aiohttp.ClientError, TimeoutError) as exc:
                status = type(exc).__name__
            if status == "200":
                latencies.append(time.perf_counter() - started)
            else:
                errors[status] = errors.get(status, 0) + 1
                await asyncio.sleep(0.1)

    connector = aiohttp.TCPConnector(limit=clients)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await asyncio.gather(*(client(session) for _ in range(clients)))
    latencies.sort()
    calls = len(latencies) + sum(errors.values())

    def quantile(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else 0

    return {"calls": calls, "ok": len(latencies), "errors": errors,
            "error_rate": sum(errors.values()) / max(calls, 1),
            "p50_s": quantile(0.50), "p95_s": quantile(0.95), "calls_per_s": calls / seconds}


async def hostile_clients(port: int, clients: int, seconds: float) -> dict[str, int]:
    """Each hostile client repeats one attack, from one of HOSTILE_SOURCES, until the end."""
    deadline = time.monotonic() + seconds
    counts: dict[str, int] = {}
    big = b'{"image": "' + b"A" * (12 * 1024 * 1024 - 20) + b'"}'
    nested = b"[" * 200_000 + b"]" * 200_000

    async def exchange(source: str, data: bytes, slow: bool = False) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port,
                                                       local_addr=(source, 0))
        try:
            if slow:  # a byte a second, until the server gives up on us
                for byte in data:
                    writer.write(bytes([byte]))
                    await writer.drain()
                    await asyncio.sleep(1.0)
                    if time.monotonic() > deadline:
                        return
            else:
                writer.write(data)
                await writer.drain()
            await asyncio.wait_for(reader.read(65536), 15)
        finally:
            writer.close()

    def request(headers: dict[str, str] | list[tuple[str, str]], body: bytes,
                path: str = PATH) -> bytes:
        items = headers.items() if isinstance(headers, dict) else headers
        lines = [f"POST {path} HTTP/1.1", *(f"{k}: {v}" for k, v in items),
                 f"Content-Length: {len(body)}"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body

    def attack(kind: str) -> tuple[bytes, bool]:
        if kind == "slow-headers":
            return request({"Host": "x"}, b"")[:-4], True
        if kind == "slow-body":
            head = request(signed(port, big), big)[: -len(big)]
            return head + big[:2000], True
        if kind == "bad-signature":
            return request(signed(port, BODY, sk="guess"), BODY), False
        if kind == "big-bad-signature":
            return request(signed(port, big, sk="guess"), big), False
        if kind == "nested-json":
            return request(signed(port, nested, sk="guess"), nested), False
        if kind == "duplicate-headers":
            headers = [*signed(port, BODY).items(), ("Enterprise-Project-Id", "victim")]
            return request(headers, BODY), False
        return request({"Host": "x"}, b"{}", path=f"/v2/p/ocr/made-up-{time.time_ns()}"), False

    kinds = ["slow-headers", "slow-body", "bad-signature", "big-bad-signature",
             "nested-json", "duplicate-headers", "made-up-path"]

    async def client(number: int) -> None:
        kind, source = kinds[number % len(kinds)], HOSTILE_SOURCES[number % 8]
        while time.monotonic() < deadline:
            data, slow = attack(kind)
            try:
                await exchange(source, data, slow)
                counts[kind] = counts.get(kind, 0) + 1
            except (OSError, TimeoutError, asyncio.IncompleteReadError):
                counts[kind + " (dropped)"] = counts.get(kind + " (dropped)", 0) + 1
                await asyncio.sleep(0.2)

    await asyncio.gather(*(client(n) for n in range(clients)))
    return counts


# ---- the run ---------------------------------------------------------------------------


def run(args: argparse.Namespace, hostile: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="ocrpipe-soak-") as tmp:
        port_file = Path(tmp) / "port"
        me = [sys.executable, __file__]
        service = subprocess.Popen([*me, "--serve", str(port_file), "--latency",
                                    str(args.latency), "--workers", str(args.workers),
                                    "--clients", str(args.clients)])
        try:
            while not port_file.exists() or not port_file.read_text():
                if service.poll() is not None:
                    raise SystemExit("the service failed to start")
                time.sleep(0.1)
            port = int(port_file.read_text())
            attackers = None
            if hostile:
                attackers = subprocess.Popen(
                    [*me, "--hostile", str(port), "--clients", str(args.clients),
                     "--seconds", str(args.seconds)], stdout=subprocess.PIPE, text=True)
                time.sleep(1.0)  # let the attack start first
            figures = asyncio.run(valid_clients(port, args.clients, args.seconds))
            if attackers is not None:
                out, _ = attackers.communicate(timeout=120)
                figures["hostile"] = json.loads(out or "{}")
            figures["service_peak_rss_mb"] = round(peak_rss_mb(service.pid), 1)
            figures["service_cpu_s"] = round(cpu_seconds(service.pid), 1)
        finally:
            service.terminate()
            service.wait(30)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="50 + 50 clients for 15 s")
    parser.add_argument("--clients", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--latency", type=float, default=0.02, help="fake engine, seconds")
    parser.add_argument("--workers", type=int, default=16, help="fake engine workers")
    parser.add_argument("--out", type=Path, default=Path("out/bench/service_soak.json"))
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--hostile", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.clients = args.clients or (50 if args.quick else 200)
    args.seconds = args.seconds or (15.0 if args.quick else 60.0)
    if args.serve is not None:
        serve(args.serve, args.latency, args.workers, args.clients)
        return
    if args.hostile is not None:
        print(json.dumps(asyncio.run(hostile_clients(args.hostile, args.clients,
                                                     args.seconds))))
        return
    quiet, attacked = run(args, hostile=False), run(args, hostile=True)
    ratios = {
        "p95_ratio": attacked["p95_s"] / max(quiet["p95_s"], 1e-9),
        "error_rate_hostile_minus_quiet": attacked["error_rate"] - quiet["error_rate"],
        "calls_per_s_ratio": attacked["calls_per_s"] / max(quiet["calls_per_s"], 1e-9),
    }
    report = {"clients": args.clients, "seconds": args.seconds, "latency": args.latency,
              "workers": args.workers, "cores": os.cpu_count(), "quiet": quiet,
              "hostile": attacked, "ratios": ratios}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"{'run':8} {'calls':>7} {'calls/s':>8} {'p50 ms':>7} {'p95 ms':>7} "
          f"{'errors':>7} {'peak RSS MB':>11} {'service CPU s':>13}")
    for name, fig in (("quiet", quiet), ("hostile", attacked)):
        print(f"{name:8} {fig['calls']:7d} {fig['calls_per_s']:8.1f} {fig['p50_s'] * 1000:7.1f} "
              f"{fig['p95_s'] * 1000:7.1f} {fig['error_rate']:7.2%} "
              f"{fig['service_peak_rss_mb']:11.1f} {fig['service_cpu_s']:13.1f}")
    print(f"p95 ratio {ratios['p95_ratio']:.2f}, calls/s ratio {ratios['calls_per_s_ratio']:.2f}, "
          f"error rate +{ratios['error_rate_hostile_minus_quiet']:.2%}; hostile: "
          f"{attacked.get('hostile')}; figures in {args.out}")


if __name__ == "__main__":
    main()
