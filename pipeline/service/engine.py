"""The OCR backend (backend.py: RapidOCR or Tesseract) in a pool of worker processes: the
event loop never decodes or recognises.

Each worker process builds one backend in its initializer (RapidOCR's models ship in the
`rapidocr` wheel: nothing is downloaded) and warms it up on a small generated image, so
the first real page pays no model-loading cost. `workers` processes times `threads`
threads each is about the number of cores, so processes do not oversubscribe them.

In front of the pool is a bounded queue: at most `workers + queue_size` pages are taken at
once; one more answers 429 ModelArts.4401 (max concurrency, with Retry-After) at once rather
than waiting an unbounded time. `depth` is the number taken (for /metrics). A caller that
must do work before its page is ready (a `url` download) reserves its place first
(`reserve()`), so nothing is downloaded for a page the queue would refuse.

Processes are started with the "spawn" method (no fork of a threaded, event-looping
parent) and ignore SIGINT, so Ctrl-C reaches only the parent, which shuts the pool down.
Each worker is a pool of its own: one that dies (killed, out of memory) fails only the page
it had, which is tried once more on another worker; a fresh process replaces it.
"""

from __future__ import annotations

import asyncio
import ctypes
import functools
import importlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from concurrent.futures.process import BrokenProcessPool
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from pipeline.protocol.codes import BACKEND_UNAVAILABLE, MAX_CONCURRENCY, RECOGNITION_FAILED
from pipeline.workers import process_pool

from .apierror import ApiError, SetupError
from .backend import Backend, EngineRequest, to_blocks
from .blocks import TextBlock, scale_blocks, to_markdown
from .images import decode_base64, load_page_sized, to_bgr_array

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


ENGINES: dict[str, str] = {
    "rapidocr": "pipeline.service.rapid:RapidBackend",
    "tesseract": "pipeline.service.tess:TesseractBackend",
    "auto": "pipeline.service.auto:AutoBackend",
    "scripted": "pipeline.service.scripted:ScriptedBackend",
}
"""Engine name -> the backend class (`module:Class`), imported in the worker that builds it:
a worker loads only its own engine's libraries. Each class takes `(threads, device)`.
"scripted" (scripted.py) has no models: it answers text derived from each page, for tests."""


def make_backend(name: str, threads: int, device: str = "cpu") -> Backend:
    """A new backend of engine `name`; SetupError for a name not in ENGINES."""
    if name not in ENGINES:
        raise SetupError(f"unknown OCR engine {name!r}: choose one of {', '.join(ENGINES)}")
    module, _, cls = ENGINES[name].partition(":")
    factory = getattr(importlib.import_module(module), cls)
    backend: Backend = factory(threads, device)
    return backend


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
    _release_memory()


def _warm_up(backend: Backend) -> None:
    """Run one tiny recognition so the models are loaded before the first request (a
    backend's own `warm_up`, where it has one, decides what to load)."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (320, 64), "white")
    ImageDraw.Draw(image).text((8, 8), "warm up 123", fill="black", font=ImageFont.load_default(32))
    warm_up = getattr(backend, "warm_up", None)
    if warm_up is not None and backend.name == "auto":
        warm_up(to_bgr_array(image))
        return
    backend.recognize(to_bgr_array(image), EngineRequest(detect_direction=True))


def _probe() -> tuple[int, int]:
    """Which worker answered: (process id, thread id)."""
    time.sleep(0.05)
    return os.getpid(), threading.get_ident()


def _release_memory() -> None:
    """Hand the heap freed by a page back to the system (glibc keeps it otherwise, and a
    worker's size would be its largest page's, for good)."""
    global _malloc_trim
    if _malloc_trim is None:
        try:
            _malloc_trim = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):  # not glibc
            _malloc_trim = False
    if _malloc_trim:
        _malloc_trim(0)


_malloc_trim: Any = None


def recognize_page(image: str | bytes, options: RecognizeOptions) -> PageText:
    """Decode, check and recognise one page with this worker's engine: `image` is Base64
    text or the file's bytes (runs in a worker; also callable in-process after
    `_init_worker`). The page's memory goes back to the system after each page."""
    if _backend is None:
        raise RuntimeError("the OCR worker has no engine")
    try:
        return recognize_with(_backend, image, options)
    finally:
        _release_memory()


def recognize_with(backend: Backend, image: str | bytes, options: RecognizeOptions) -> PageText:
    """Decode, check and recognise one page with `backend`."""
    started = time.perf_counter()
    backend.check_language(options.engine.language)
    data = image if isinstance(image, bytes) else decode_base64(image)
    page, (width, height) = load_page_sized(
        data, options.pdf_page_number, getattr(backend, "max_side", None)
    )
    recognized = backend.recognize(to_bgr_array(page), options.engine)
    blocks = tuple(to_blocks(recognized, page.width, page.height))
    if (width, height) != page.size:  # recognised smaller: boxes back to the page as sent
        blocks = scale_blocks(blocks, width / page.width, height / page.height)
    markdown = to_markdown(blocks) if options.return_markdown else None
    return PageText(
        blocks,
        width,
        height,
        markdown,
        recognized.direction,
        time.perf_counter() - started,
    )


def _call_soon(loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> None:
    with suppress(RuntimeError):  # the loop is already closed
        loop.call_soon_threadsafe(callback)


# ---- in the service process --------------------------------------------------------------


Work = Callable[[str | bytes, RecognizeOptions], PageText]
"""What runs in the pool for one page: `recognize_page` in the spawned workers."""


class OcrEngine:
    """The OCR workers. `start()` before use, `close()` after.

    Each worker is a pool of one process, handed one page at a time: a worker that dies
    takes down its own page only. That page is tried once more on another worker (it
    may have been an accident); if that worker dies too, the call answers ModelArts.4503.
    A dead worker is replaced by a fresh one.

    `executor` and `work` replace a worker's pool and what runs in it for one page
    (default: a spawned process that builds engine `engine`, and `recognize_page`);
    `scripted.in_thread_engine` uses them to run a model-free engine in threads.
    """

    def __init__(
        self,
        workers: int | None = None,
        *,
        engine: str = "rapidocr",
        queue_size: int = 16,
        device: str = "cpu",
        executor: Callable[[], Executor] | None = None,
        work: Work | None = None,
    ) -> None:
        cores = available_cores()
        self.name = engine
        self.device = device
        self.workers = max(1, workers or cores)
        self.threads = max(1, cores // self.workers)
        self.queue_size = max(0, queue_size)
        self.depth = 0
        """Pages taken and not yet answered (recognising plus waiting)."""
        self.seconds_per_page = 1.0
        """A moving average of recognition time, for Retry-After."""
        self._pools: list[Executor] = []
        self._idle: asyncio.Queue[Executor] | None = None
        self._executor = executor
        self._work: Work = work or recognize_page

    def _new_pool(self) -> Executor:
        """One worker: a pool of one process (or what `executor` makes)."""
        if self._executor is not None:
            return self._executor()
        return process_pool(1, _init_worker, (self.name, self.threads, self.device))

    async def start(self) -> None:
        """Start every worker and wait until each has its engine loaded."""
        self._pools = [self._new_pool() for _ in range(self.workers)]
        self._idle = asyncio.Queue()
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(STARTUP_TIMEOUT_S):
                workers = await asyncio.gather(
                    *(loop.run_in_executor(pool, _probe) for pool in self._pools)
                )
        except (BrokenProcessPool, TimeoutError) as exc:
            await self.close()
            raise SetupError(
                f"The OCR engine {self.name} failed to start in its worker processes: check "
                "that its packages are installed and import cleanly (rapidocr and onnxruntime; "
                "tesserocr and the tesseract-ocr language data for tesseract), and that there "
                "is memory for the workers"
            ) from exc
        for pool in self._pools:
            self._idle.put_nowait(pool)
        logger.info(
            "OCR engine %s ready: %d worker process(es) x %d thread(s), pids %s",
            self.name,
            self.workers,
            self.threads,
            ",".join(str(pid) for pid in sorted({pid for pid, _ in workers})),
        )

    def retry_after(self) -> float:
        """Seconds until a place in the queue is likely free."""
        waiting = max(1, self.depth - self.workers + 1)
        return max(1.0, self.seconds_per_page * waiting / self.workers)

    def reserve(self) -> Slot:
        """A place in the queue, or ApiError 429 ModelArts.4401 (with Retry-After) when it
        is full. Use as `async with engine.reserve() as slot: await slot.recognize(...)`;
        the place is held until the page's worker is done with it."""
        if self._idle is None:
            raise ApiError(BACKEND_UNAVAILABLE, "The OCR engine is not running", retry_after=5)
        if self.depth >= self.workers + self.queue_size:
            raise ApiError(
                MAX_CONCURRENCY,
                f"The service is at its maximum concurrency ({self.workers} page(s) being "
                f"recognised, {self.queue_size} waiting): retry later, and send fewer calls "
                "at once",
                retry_after=self.retry_after(),
            )
        self.depth += 1
        return Slot(self)

    async def recognize(self, image: str | bytes, options: RecognizeOptions) -> PageText:
        """Recognise one page in a worker; ApiError for bad input or a failed worker."""
        async with self.reserve() as slot:
            return await slot.recognize(image, options)

    def _leave(self) -> None:
        self.depth -= 1

    async def _take_worker(self) -> Executor:
        if self._idle is None:
            raise ApiError(BACKEND_UNAVAILABLE, "The OCR service is stopping", retry_after=5)
        return await self._idle.get()

    def _give_back(self, pool: Executor, work: Future[PageText] | None) -> None:
        """Return a worker that finished a page to the idle ones (a fresh one if it died)."""
        broken = work is not None and not work.cancelled() and isinstance(
            work.exception(), BrokenProcessPool
        )
        if self._idle is None or pool not in self._pools:
            return
        if broken:
            index = self._pools.index(pool)
            pool.shutdown(wait=False, cancel_futures=True)
            pool = self._new_pool()
            pool.submit(_probe)  # start it (and load its models) now, not on the next page
            self._pools[index] = pool
            logger.error("an OCR worker process died; a fresh one replaces it")
        self._idle.put_nowait(pool)

    def _finished(
        self, loop: asyncio.AbstractEventLoop, pool: Executor, work: Future[PageText]
    ) -> None:
        _call_soon(loop, functools.partial(self._give_back, pool, work))

    async def _submit(
        self, image: str | bytes, options: RecognizeOptions
    ) -> Future[PageText]:
        """Hand the page to an idle worker (skipping, and replacing, dead idle ones)."""
        loop = asyncio.get_running_loop()
        for _ in range(self.workers + 1):
            pool = await self._take_worker()
            try:
                work = pool.submit(self._work, image, options)
            except BrokenProcessPool:  # died while idle: the page never ran
                self._give_back(pool, _broken_future())
                continue
            except RuntimeError:  # submitted while the pool shuts down
                raise ApiError(
                    BACKEND_UNAVAILABLE, "The OCR service is stopping", retry_after=5
                ) from None
            work.add_done_callback(functools.partial(self._finished, loop, pool))
            return work
        raise ApiError(BACKEND_UNAVAILABLE, "The OCR workers keep dying: retry", retry_after=5)

    async def close(self) -> None:
        """Stop the workers; pages being recognised finish first, queued ones are dropped."""
        pools, self._pools, self._idle = self._pools, [], None
        for pool in pools:
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)


def _broken_future() -> Future[PageText]:
    future: Future[PageText] = Future()
    future.set_exception(BrokenProcessPool("the worker died"))
    return future


class Slot:
    """A page's place in the engine's queue (`OcrEngine.reserve`)."""

    def __init__(self, engine: OcrEngine) -> None:
        self._engine = engine
        self._work: Future[PageText] | None = None

    async def __aenter__(self) -> Slot:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        engine, work = self._engine, self._work
        if work is None or work.done():
            engine._leave()
        else:  # the caller stopped waiting: the place is free when the worker is
            loop = asyncio.get_running_loop()
            work.add_done_callback(lambda _: _call_soon(loop, engine._leave))

    async def recognize(self, image: str | bytes, options: RecognizeOptions) -> PageText:
        """Recognise the page; a worker dying under it gets it tried once more."""
        engine = self._engine
        for attempt in (1, 2):
            self._work = await engine._submit(image, options)
            try:
                page = await asyncio.wrap_future(self._work)
            except ApiError:
                raise
            except BrokenProcessPool:
                if attempt == 1:
                    logger.warning("an OCR worker died under a page; trying it once more")
                    continue
                raise ApiError(
                    BACKEND_UNAVAILABLE,
                    "The OCR worker died twice on this page: retry later, or send a smaller "
                    "image",
                    retry_after=5,
                ) from None
            except Exception as exc:
                _log_failure(exc)
                raise ApiError(RECOGNITION_FAILED, "Recognition failed") from None
            engine.seconds_per_page = 0.8 * engine.seconds_per_page + 0.2 * page.seconds
            return page
        raise AssertionError("unreachable")
def _log_failure(exc: BaseException) -> None:
    """One line per failed page; the engine's traceback only at debug level (a client's
    terminal is no place for 40 lines of someone else's stack)."""
    logger.error("recognition failed: %s: %s", exc.__class__.__name__, exc or "(no message)")
    logger.debug("recognition failure", exc_info=exc)
