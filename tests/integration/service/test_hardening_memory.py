"""Engine memory (issue 11, class 5): an OCR worker stays under 800 MB on any input the API
accepts, measured in a subprocess (its VmHWM, the peak resident size) with the real
RapidOCR engine; what would not fit is refused with AIS.0103 before it is decoded.

The inputs are the worst cases of each kind: a 160 Mpx bilevel PNG (35 KB of file), a
160 Mpx grey PNG, an RGB PNG just inside the decoding budget, a 30000 x 5000 JPEG (decoded
at 1/8 scale), a JPEG whose header lies about its size (Pillow decodes what there is: at 1/8 scale,
it costs nothing), a 200-inch PDF page, a dense 2000 px
text page (the engine's own peak), a 1990 x 20 strip (detected at 1.6 Mpx, not at RapidOCR's
73,000 x 736); and, refused, a 160 Mpx colour PNG and a 15 x 30000 strip.
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from tests.support.paths import REPO_ROOT

WORKER_LIMIT_MB = 800


def probe(folder: str) -> None:
    """Run in the subprocess: one RapidOCR worker, every file in `folder`, one JSON line
    each with the outcome and the peak resident size so far."""
    from pipeline.service import engine
    from pipeline.service.apierror import ApiError
    from pipeline.service.engine import RecognizeOptions

    def peak_mb() -> int:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM"):
                    return int(line.split()[1]) // 1024
        return -1

    engine._init_worker("rapidocr", 1, "cpu")
    print(json.dumps({"name": "(started)", "outcome": "ok", "peak_mb": peak_mb()}), flush=True)
    for path in sorted(Path(folder).iterdir()):
        try:
            page = engine.recognize_page(path.read_bytes(), RecognizeOptions())
            outcome = f"ok {page.width}x{page.height} {len(page.blocks)} blocks"
        except ApiError as exc:
            outcome = exc.kind.code
        print(json.dumps({"name": path.name, "outcome": outcome, "peak_mb": peak_mb()}),
              flush=True)


def _save(image: Image.Image, path: Path, fmt: str, **options: object) -> None:
    image.save(path, fmt, **options)
    image.close()


def _png_header(width: int, height: int, colour_type: int) -> bytes:
    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def _lying_jpeg(width: int, height: int) -> bytes:
    """A tiny JPEG whose frame header (SOF0) claims width x height."""
    buffer = io.BytesIO()
    Image.new("L", (16, 16), 255).save(buffer, "JPEG")
    data = bytearray(buffer.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _text_page(side: int) -> Image.Image:
    image = Image.new("RGB", (side, side), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=40)
    for top in range(20, side - 60, 60):
        draw.text((20, top), "Worst case 0123456789 the quick brown fox " * 3, fill="black",
                  font=font)
    return image


def make_inputs(folder: Path) -> None:
    bilevel = Image.new("1", (12_649, 12_649), 1)
    ImageDraw.Draw(bilevel).text((100, 100), "tiny", fill=0)
    _save(bilevel, folder / "a_bilevel_160mpx.png", "PNG")
    _save(Image.new("L", (16_000, 10_000), 255), folder / "b_grey_160mpx.png", "PNG",
          compress_level=1)
    _save(Image.new("RGB", (9_000, 9_000), "white"), folder / "c_rgb_81mpx.png", "PNG",
          compress_level=1)
    _save(Image.new("L", (30_000, 5_000), 255), folder / "d_jpeg_30000x5000.jpg", "JPEG")
    (folder / "e_lying_jpeg.jpg").write_bytes(_lying_jpeg(30_000, 5_000))
    _save(Image.new("RGB", (200, 200), "white"), folder / "f_200inch_page.pdf", "PDF",
          resolution=1.0)
    _save(_text_page(2000), folder / "g_dense_2000.png", "PNG")
    (folder / "h_rgb_160mpx_header.png").write_bytes(_png_header(12_649, 12_649, 2))
    _save(Image.new("L", (15, 30_000), 255), folder / "i_strip_15x30000.png", "PNG")
    strip = Image.new("L", (1990, 20), 255)  # 1:99.5: RapidOCR's own rule: 73,000 x 736
    ImageDraw.Draw(strip).text((4, 4), "a strip " * 40, fill=0)
    _save(strip, folder / "j_wide_strip_1990x20.png", "PNG")


@pytest.mark.slow  # 2 s and more (measured)
def test_a_worker_stays_under_800_mb_on_the_worst_inputs(tmp_path: Path) -> None:
    make_inputs(tmp_path)
    module = "tests.integration.service.test_hardening_memory"
    script = f"from {module} import probe; probe({str(tmp_path)!r})"
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    outcomes = {row["name"]: row["outcome"] for row in rows}
    print("\n".join(f"{r['name']:28} {r['outcome']:36} peak {r['peak_mb']} MB" for r in rows))
    assert len(rows) == 11, done.stdout
    for name in ("a_bilevel_160mpx.png", "b_grey_160mpx.png", "c_rgb_81mpx.png",
                 "d_jpeg_30000x5000.jpg", "f_200inch_page.pdf", "j_wide_strip_1990x20.png"):
        assert outcomes[name].startswith("ok"), (name, outcomes[name])
    assert outcomes["a_bilevel_160mpx.png"].startswith("ok 12649x12649")  # size as sent
    assert outcomes["d_jpeg_30000x5000.jpg"].startswith("ok 30000x5000")
    assert outcomes["g_dense_2000.png"].startswith("ok 2000x2000")
    assert int(outcomes["g_dense_2000.png"].split()[2]) >= 20  # the text was read
    assert outcomes["f_200inch_page.pdf"].startswith("ok 7746x7746")  # 60 Mpx, as before
    assert outcomes["h_rgb_160mpx_header.png"] == "AIS.0103"
    assert outcomes["i_strip_15x30000.png"] == "AIS.0103"
    worst = max(rows, key=lambda row: row["peak_mb"])
    assert worst["peak_mb"] < WORKER_LIMIT_MB, worst


# ---- the service process: bodies of requests not yet authenticated ----------------------


def start_soak_service() -> tuple[subprocess.Popen[bytes], int]:
    """The soak benchmark's service (the real HTTP layer over a fake engine) in a
    subprocess; and its port."""
    soak = REPO_ROOT / "benchmarks" / "service_soak.py"
    port_file = REPO_ROOT / "out" / f"soak-port-{os.getpid()}"
    port_file.parent.mkdir(exist_ok=True)
    port_file.unlink(missing_ok=True)
    service = subprocess.Popen([sys.executable, str(soak), "--serve", str(port_file),
                                "--clients", "10"])
    deadline = time.monotonic() + 60
    while not port_file.exists() or not port_file.read_text():
        if service.poll() is not None or time.monotonic() > deadline:
            service.kill()
            raise RuntimeError("the soak service did not start")
        time.sleep(0.1)
    port = int(port_file.read_text())
    port_file.unlink()
    return service, port


@pytest.mark.slow  # 2 s and more (measured)
async def test_sixty_unauthenticated_12_mb_bodies_do_not_grow_the_service() -> None:
    """60 connections send 12 MB bodies signed with a wrong secret for a known AK (which
    passes every check the headers allow): the service holds at most its pre-auth buffer
    (128 MB), not 60 x 12 MB; the others answer 429 before their body is read."""
    import asyncio

    from pipeline.protocol.signing import sign_request

    service, port = start_soak_service()
    try:
        body = b'{"image": "' + b"A" * (12 * 1024 * 1024 - 20) + b'"}'
        url = f"http://127.0.0.1:{port}/v2/soakproject/ocr/general-text"
        headers = sign_request("POST", url, {"Content-Type": "application/json"}, body,
                               "SOAKAK", "wrong-secret")
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        request = (f"POST /v2/soakproject/ocr/general-text HTTP/1.1\r\n{head}"
                   f"Content-Length: {len(body)}\r\n\r\n").encode()

        async def one(number: int) -> int:
            source = f"127.0.{number // 5 + 1}.{number % 5 + 2}"  # 5 per address
            reader, writer = await asyncio.open_connection("127.0.0.1", port,
                                                           local_addr=(source, 0))
            try:
                writer.write(request)
                writer.write(body)
                await writer.drain()
                status = await asyncio.wait_for(reader.readline(), 60)
            except (ConnectionError, TimeoutError):
                return 0  # answered and closed before the body was all sent
            finally:
                writer.close()
            return int(status.split()[1])

        statuses = await asyncio.gather(*(one(n) for n in range(60)))
        peak = int(next(line.split()[1] for line in
                        Path(f"/proc/{service.pid}/status").read_text().splitlines()
                        if line.startswith("VmHWM"))) // 1024
    finally:
        service.terminate()
        service.wait(30)
    print(f"statuses {sorted(statuses)}; service peak {peak} MB")
    assert set(statuses) <= {401, 429, 0}, statuses
    assert statuses.count(401) >= 1
    assert peak < 128 + 200, peak  # the buffer plus the process itself
