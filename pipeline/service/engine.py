"""RapidOCR in a pool of worker processes: the event loop never decodes or recognises.

Each worker process builds one RapidOCR engine in its initializer (models ship in the
`rapidocr` wheel: nothing is downloaded) and warms it up on a small generated image, so
the first real page pays no model-loading cost. `workers` processes times `threads`
onnxruntime threads each is about the number of cores. The angle classifier
(`Global.use_cls`) is off: on clean upright pages it flips good lines (DESIGN.md).

Processes are started with the "spawn" method (no fork of a threaded, event-looping
parent) and ignore SIGINT, so Ctrl-C reaches only the parent, which shuts the pool down.
A worker that dies (killed, out of memory) breaks the pool: the call that saw it answers
ModelArts.4503 (retry) and a fresh pool replaces the broken one.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from pipeline.errors import ConfigError

from .errors import BACKEND_UNAVAILABLE, RECOGNITION_FAILED, ApiError
from .images import decode_base64, load_page, to_bgr_array
from .layout import TextBlock, reading_order, to_corners, to_markdown

logger = logging.getLogger(__name__)

STARTUP_TIMEOUT_S = 300.0
"""How long the workers may take to start and load their models."""


@dataclass(frozen=True)
class RecognizeOptions:
    """The request options the engine acts on (see general_text.py for the others)."""

    pdf_page_number: int = 1
    return_markdown: bool = False


@dataclass(frozen=True)
class PageText:
    """What one page gave: blocks in reading order, in the pixels of the decoded page."""

    blocks: tuple[TextBlock, ...]
    width: int
    height: int
    markdown: str | None = None


def available_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def engine_params(threads: int) -> dict[str, Any]:
    """RapidOCR parameters: no angle classifier, quiet, `threads` onnxruntime threads."""
    return {
        "Global.use_cls": False,
        "Global.log_level": "critical",
        "EngineConfig.onnxruntime.intra_op_num_threads": threads,
        "EngineConfig.onnxruntime.inter_op_num_threads": 1,
    }


# ---- inside the worker processes ---------------------------------------------------------

_engine: Any = None


def _init_worker(threads: int) -> None:
    global _engine
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.getLogger("RapidOCR").setLevel(logging.CRITICAL)
    import cv2
    import onnxruntime

    onnxruntime.set_default_logger_severity(3)
    cv2.setNumThreads(threads)
    from rapidocr import RapidOCR

    _engine = RapidOCR(params=engine_params(threads))
    _warm_up()


def _warm_up() -> None:
    """Run one tiny recognition so both models are loaded before the first request."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (320, 64), "white")
    ImageDraw.Draw(image).text((8, 8), "warm up 123", fill="black", font=ImageFont.load_default(32))
    _engine(to_bgr_array(image))


def _probe() -> int:
    time.sleep(0.05)
    return os.getpid()


def recognize_page(image_b64: str, options: RecognizeOptions) -> PageText:
    """Decode, check and recognise one page (runs in a worker; also callable in-process
    after `_init_worker`)."""
    page = load_page(decode_base64(image_b64), options.pdf_page_number)
    output = _engine(to_bgr_array(page))
    blocks: list[TextBlock] = []
    if output.boxes is not None and output.txts is not None and output.scores is not None:
        for box, text, score in zip(output.boxes, output.txts, output.scores, strict=True):
            if text.strip():
                blocks.append(TextBlock(text, to_corners(box.tolist()), round(float(score), 4)))
    ordered = tuple(reading_order(blocks))
    markdown = to_markdown(ordered) if options.return_markdown else None
    return PageText(ordered, page.width, page.height, markdown)


# ---- in the service process --------------------------------------------------------------


class OcrEngine:
    """The pool of OCR workers. `start()` before use, `close()` after."""

    def __init__(self, workers: int | None = None) -> None:
        cores = available_cores()
        self.workers = max(1, workers or cores)
        self.threads = max(1, cores // self.workers)
        self._pool: ProcessPoolExecutor | None = None
        self._lock = asyncio.Lock()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(self.threads,),
        )

    async def start(self) -> None:
        """Start every worker and wait until each has its engine loaded."""
        self._pool = self._new_pool()
        try:
            async with asyncio.timeout(STARTUP_TIMEOUT_S):
                pids = await self._wait_for_workers(self._pool)
        except (BrokenProcessPool, TimeoutError) as exc:
            await self.close()
            raise ConfigError(
                "The OCR engine failed to start in its worker processes: check that the "
                "rapidocr and onnxruntime packages are installed and import cleanly, and "
                "that there is memory for the workers"
            ) from exc
        logger.info(
            "OCR engine ready: %d worker process(es) x %d thread(s), pids %s",
            self.workers,
            self.threads,
            ",".join(str(pid) for pid in sorted(pids)),
        )

    async def _wait_for_workers(self, pool: ProcessPoolExecutor) -> set[int]:
        """Probe until every worker has answered once (so has run its initializer).

        The first round, submitted before any worker is idle, makes the pool start all
        its processes; a probe is busy for a moment, so idle workers share each round."""
        loop = asyncio.get_running_loop()
        seen: set[int] = set()
        while len(seen) < self.workers:
            probes = (loop.run_in_executor(pool, _probe) for _ in range(self.workers))
            seen.update(await asyncio.gather(*probes))
        return seen

    async def recognize(self, image_b64: str, options: RecognizeOptions) -> PageText:
        """Recognise one page in a worker; ApiError for bad input or a failed worker."""
        pool = self._pool
        if pool is None:
            raise ApiError(BACKEND_UNAVAILABLE, "The OCR engine is not running")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(pool, recognize_page, image_b64, options)
        except ApiError:
            raise
        except BrokenProcessPool:
            logger.error("an OCR worker process died; starting a fresh pool")
            await self._replace(pool)
            raise ApiError(
                BACKEND_UNAVAILABLE, "The OCR backend restarted: retry the request"
            ) from None
        except RuntimeError as exc:
            if "shutdown" in str(exc):  # submitted while the pool shuts down
                raise ApiError(BACKEND_UNAVAILABLE, "The OCR service is stopping") from None
            logger.exception("recognition failed")
            raise ApiError(RECOGNITION_FAILED, "Recognition failed") from None
        except Exception:
            logger.exception("recognition failed")
            raise ApiError(RECOGNITION_FAILED, "Recognition failed") from None

    async def _replace(self, broken: ProcessPoolExecutor) -> None:
        async with self._lock:
            if self._pool is broken:
                self._pool = self._new_pool()
        broken.shutdown(wait=False, cancel_futures=True)

    async def close(self) -> None:
        """Stop the workers; pages being recognised finish first, queued ones are dropped."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)
