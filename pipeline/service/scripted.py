"""The scripted engine: no models, answers each page with one line derived from the page
itself (`pipeline.pagetag`: "page <tag>" for a tagged test page, else "page #<hash>" of
its pixels). Registered in `engine.ENGINES` as "scripted" like the real engines, so
`ocrpipe serve --engine scripted` and the service tests run the whole service (auth,
limits, queue, workers) in milliseconds a page.

`delay` makes each page take that long (a slow engine, for queue and timeout tests);
`in_thread_engine` runs it in a thread of this process instead of spawned workers.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from PIL import Image as PILImage

from pipeline.pagetag import page_text
from pipeline.protocol.codes import INVALID_PARAMETER

from .apierror import ApiError
from .backend import EngineRequest, Image, Line, Recognized
from .engine import OcrEngine, PageText, RecognizeOptions, recognize_with

LANGUAGES = frozenset({"", "zh", "en", "auto"})
CONFIDENCE = 0.99


class ScriptedBackend:
    name = "scripted"

    def __init__(self, threads: int, device: str = "cpu", *, delay: float = 0.0) -> None:
        self.delay = delay

    def check_language(self, language: str) -> None:
        if language not in LANGUAGES:
            raise ApiError(INVALID_PARAMETER, f"language {language!r} is not supported")

    def recognize(self, image: Image, request: EngineRequest) -> Recognized:
        self.check_language(request.language)
        if self.delay:
            time.sleep(self.delay)
        height, width = image.shape[:2]
        text = page_text(PILImage.fromarray(image[:, :, ::-1].copy()))
        box = ((width * 0.04, height * 0.6), (width * 0.96, height * 0.6),
               (width * 0.96, height * 0.7), (width * 0.04, height * 0.7))
        return Recognized([Line(text, box, CONFIDENCE)], 0 if request.detect_direction else -1)


def in_thread_engine(
    workers: int = 1, *, delay: float = 0.0, queue_size: int = 16
) -> OcrEngine:
    """The real `OcrEngine` (queue, accounting, metrics) whose pages go to `workers`
    threads of this process, each page read by a `ScriptedBackend(delay=delay)`."""
    backend = ScriptedBackend(1, delay=delay)
    work = partial(_recognize, backend)
    return OcrEngine(
        workers, engine="scripted", queue_size=queue_size,
        executor=lambda: ThreadPoolExecutor(1, thread_name_prefix="scripted-ocr"),
        work=work,
    )


def _recognize(
    backend: ScriptedBackend, image: str | bytes, options: RecognizeOptions
) -> PageText:
    return recognize_with(backend, image, options)
