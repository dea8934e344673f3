"""The OCR backend (backend.py: RapidOCR or Tesseract) in a pool of worker processes: the
event loop never decodes or recognises.

Each worker process builds one backend in its initializer (RapidOCR's models ship in the
`rapidocr` wheel: nothing is downloaded) and warms it up on a small generated image, so
the first real page pays no model-loading cost. `workers` processes times `threads`
threads each is about the number of cores, so processes do not oversubscribe them.

In front of the pool is a bounded queue: at most `workers + queue_size` pages are taken at
once; one more answers 429 ModelArts.4401 (max concurrency) at once rather than waiting
an unbounded time. `depth` is the number taken (for /metrics).

Processes are started with the "spawn" method (no fork of a threaded, event-looping
parent) and ignore SIGINT, so Ctrl-C reaches only the parent, which shuts the pool down.
A worker that dies (killed, out of memory) breaks the pool: the call that saw it answers
ModelArts.4503 (retry) and a fresh pool replaces the broken one.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections.abc import Callable
from concurrent.futures import Executor
from concurrent.futures.process import BrokenProcessPool
from contextlib import suppress
from dataclasses import dataclass, field

from pipeline.errors import ConfigError
from pipeline.workers import process_pool

from .backend import Backend, EngineRequest, make_backend, to_blocks
from .errors import BACKEND_UNAVAILABLE, MAX_CONCURRENCY, RECOGNITION_FAILED, ApiError
from .images import decode_base64, load_page, to_bgr_array
from .layout import TextBlock, to_markdown

logger = logging.getLogger(__name__)

STARTUP_TIMEOUT_S = 300.0
"""How long the workers may take to start and load their models."""


@dataclass(frozen=True)
class RecognizeOptions:
    """The request options the engine acts on (see general_text.py for the others)."""

    pdf_page_number: int = 1
    return_markdown: bool = False
    engine: EngineRequest = field(default_factory=EngineRequest)


@dataclass(frozen=True)
class PageText:
    """What one page gave: blocks in reading order, in the pixels of the decoded page."""

    blocks: tuple[TextBlock, ...]
    width: int
    height: int
    markdown: str | None = None
    direction: int = -1
    seconds: float = 0.0
    """Time the worker spent on the page (decoding included)."""


def available_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


# ---- inside the worker processes ---------------------------------------------------------

_backend: Backend | None = None


def _init_worker(engine: str, threads: int, device: str = "cpu") -> None:
    global _backend
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _backend = make_backend(engine, threads, device)
    _warm_up(_backend)


def _warm_up(backend: Backend) -> None:
    """Run one tiny recognition so the models are loaded before the first request."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (320, 64), "white")
    ImageDraw.Draw(image).text((8, 8), "warm up 123", fill="black", font=ImageFont.load_default(32))
    backend.recognize(to_bgr_array(image), EngineRequest(detect_direction=True))


def _probe() -> int:
    time.sleep(0.05)
    return os.getpid()


def recognize_page(image: str | bytes, options: RecognizeOptions) -> PageText:
    """Decode, check and recognise one page: `image` is Base64 text or the file's bytes
    (runs in a worker; also callable in-process after `_init_worker`)."""
    started = time.perf_counter()
    if _backend is None:
        raise RuntimeError("the OCR worker has no engine")
    _backend.check_language(options.engine.language)
    data = image if isinstance(image, bytes) else decode_base64(image)
    page = load_page(data, options.pdf_page_number)
    recognized = _backend.recognize(to_bgr_array(page), options.engine)
    blocks = tuple(to_blocks(recognized, page.width, page.height))
    markdown = to_markdown(blocks) if options.return_markdown else None
    return PageText(
        blocks,
        page.width,
        page.height,
        markdown,
        recognized.direction,
        time.perf_counter() - started,
    )


def _call_soon(loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> None:
    with suppress(RuntimeError):  # the loop is already closed
        loop.call_soon_threadsafe(callback)


# ---- in the service process --------------------------------------------------------------


class OcrEngine:
    """The pool of OCR workers. `start()` before use, `close()` after."""

    def __init__(
        self,
        workers: int | None = None,
        *,
        engine: str = "rapidocr",
        queue_size: int = 16,
        device: str = "cpu",
    ) -> None:
        cores = available_cores()
        self.name = engine
        self.device = device
        self.workers = max(1, workers or cores)
        self.threads = max(1, cores // self.workers)
        self.queue_size = max(0, queue_size)
        self.depth = 0
        """Pages taken and not yet answered (recognising plus waiting)."""
        self._pool: Executor | None = None
        self._lock = asyncio.Lock()
        self._work: Callable[[str | bytes, RecognizeOptions], PageText] = recognize_page

    def _new_pool(self) -> Executor:
        return process_pool(self.workers, _init_worker, (self.name, self.threads, self.device))

    async def start(self) -> None:
        """Start every worker and wait until each has its engine loaded."""
        self._pool = self._new_pool()
        try:
            async with asyncio.timeout(STARTUP_TIMEOUT_S):
                pids = await self._wait_for_workers(self._pool)
        except (BrokenProcessPool, TimeoutError) as exc:
            await self.close()
            raise ConfigError(
                f"The OCR engine {self.name} failed to start in its worker processes: check "
                "that its packages are installed and import cleanly (rapidocr and onnxruntime; "
                "tesserocr and the tesseract-ocr language data for tesseract), and that there "
                "is memory for the workers"
            ) from exc
        logger.info(
            "OCR engine %s ready: %d worker process(es) x %d thread(s), pids %s",
            self.name,
            self.workers,
            self.threads,
            ",".join(str(pid) for pid in sorted(pids)),
        )

    async def _wait_for_workers(self, pool: Executor) -> set[int]:
        """Probe until every worker has answered once (so has run its initializer).

        The first round, submitted before any worker is idle, makes the pool start all
        its processes; a probe is busy for a moment, so idle workers share each round."""
        loop = asyncio.get_running_loop()
        seen: set[int] = set()
        while len(seen) < self.workers:
            probes = (loop.run_in_executor(pool, _probe) for _ in range(self.workers))
            seen.update(await asyncio.gather(*probes))
        return seen

    async def recognize(self, image: str | bytes, options: RecognizeOptions) -> PageText:
        """Recognise one page in a worker; ApiError for bad input or a failed worker."""
        pool = self._pool
        if pool is None:
            raise ApiError(BACKEND_UNAVAILABLE, "The OCR engine is not running")
        if self.depth >= self.workers + self.queue_size:
            raise ApiError(
                MAX_CONCURRENCY,
                f"The service is at its maximum concurrency ({self.workers} page(s) being "
                f"recognised, {self.queue_size} waiting): retry later, and send fewer calls "
                "at once",
            )
        loop = asyncio.get_running_loop()
        try:
            work = pool.submit(self._work, image, options)
        except BrokenProcessPool:
            await self._replace(pool)
            raise ApiError(BACKEND_UNAVAILABLE, "The OCR backend restarted: retry") from None
        except RuntimeError:  # submitted while the pool shuts down
            raise ApiError(BACKEND_UNAVAILABLE, "The OCR service is stopping") from None
        # The page leaves the queue when its worker is done with it, even if the caller
        # stopped waiting (request timeout): the bound is on the work, not on the waiting.
        self.depth += 1
        work.add_done_callback(lambda _: _call_soon(loop, self._leave))
        try:
            return await asyncio.wrap_future(work)
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
            _log_failure(exc)
            raise ApiError(RECOGNITION_FAILED, "Recognition failed") from None
        except Exception as exc:
            _log_failure(exc)
            raise ApiError(RECOGNITION_FAILED, "Recognition failed") from None

    def _leave(self) -> None:
        self.depth -= 1

    async def _replace(self, broken: Executor) -> None:
        async with self._lock:
            if self._pool is broken:
                self._pool = self._new_pool()
        broken.shutdown(wait=False, cancel_futures=True)

    async def close(self) -> None:
        """Stop the workers; pages being recognised finish first, queued ones are dropped."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)


def _log_failure(exc: BaseException) -> None:
    """One line per failed page; the engine's traceback only at debug level (a client's
    terminal is no place for 40 lines of someone else's stack)."""
    logger.error("recognition failed: %s: %s", exc.__class__.__name__, exc or "(no message)")
    logger.debug("recognition failure", exc_info=exc)
