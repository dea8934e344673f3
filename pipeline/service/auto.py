"""The "auto" engine: each page read by the engine that is best for its script.

Tesseract's orientation and script detection (OSD) looks at the page first. A page in
Latin script goes to Tesseract (English model: fast and exact on Latin print); any other
script, a page OSD cannot tell, and a one-line request (`quick_mode`) go to RapidOCR
(PP-OCR, Chinese + English). A page Tesseract reads with a low mean confidence is read
again by RapidOCR (OSD took it for Latin, but it was not), and so is a page where
Tesseract found a table (columns.py: gaps aligned down several lines): Tesseract reads a
table row as one line and small print poorly, RapidOCR's detector boxes each cell (the
corpus's bank statement, tests/e2e/test_layout_corpus.py). OSD's orientation serves
`detect_direction` for the pages Tesseract reads, so it is not detected twice. A request
that names its language skips the script routing: `language` "en" goes to Tesseract
(a table on it still to RapidOCR; OSD only
for `detect_direction`), "zh" to RapidOCR; "" (the default) and "auto" are routed.

RapidOCR's models load at the first page that needs them (an English-only job never
loads them). Without tesserocr or Debian's `tesseract-ocr-eng` / `-osd` data, "auto" is
RapidOCR alone (logged once per worker), so the embedded default works on every install.

Measured with benchmarks/vs_ocrmypdf.py (README, "The OCR service").
"""

from __future__ import annotations

import logging
from typing import Any

from pipeline.protocol.codes import INVALID_PARAMETER

from .apierror import ApiError
from .backend import EngineRequest, Image, Recognized
from .direction import upright
from .rapid import LANGUAGES as RAPID_LANGUAGES
from .rapid import PREPROCESS_MAX_SIDE, RapidBackend
from .tess import OSD_ROUTING_CHARACTERS

logger = logging.getLogger(__name__)

LATIN_SCRIPTS = frozenset({"Latin"})
MIN_SCRIPT_CONFIDENCE = 1.0
"""OSD's script confidence below which a page is not taken for Latin. It cannot separate
the scripts alone: measured 1.5-13 on English pages (as the service loads them), 0.0-1.4
on Chinese pages, but 1.67 "Latin" on a low-resolution Chinese textbook page with
pinyin; the Tesseract confidence check below catches such a page."""
MIN_TESSERACT_CONFIDENCE = 0.6
"""Tesseract's mean line confidence (weighted by length) below which its reading is
dropped and RapidOCR reads the page: 0.92-0.96 on the corpus's English pages, 0.21 on
that textbook page."""


class AutoBackend:
    name = "auto"
    max_side = PREPROCESS_MAX_SIDE
    """Pages are loaded no larger than RapidOCR would read them."""

    def __init__(self, threads: int, device: str = "cpu") -> None:
        self._threads = threads
        self._device = device
        self._rapid: RapidBackend | None = None
        self._tess: Any = _tesseract(threads, device)
        self.routed: dict[str, int] = {"tesseract": 0, "rapidocr": 0, "fallback": 0, "table": 0}
        """Pages each engine read, and pages Tesseract read too poorly to keep or found a
        table on (read again by RapidOCR, counted in both): for tests and benchmarks."""

    def check_language(self, language: str) -> None:
        if language not in RAPID_LANGUAGES:  # Tesseract's codes are the same four
            raise ApiError(
                INVALID_PARAMETER,
                f"language {language!r} is not supported by this service's auto engine: "
                "use zh (Chinese and English, the default), en or auto",
            )

    @property
    def rapid(self) -> RapidBackend:
        if self._rapid is None:
            self._rapid = RapidBackend(self._threads, self._device)
        return self._rapid

    def warm_up(self, image: Image) -> None:
        """Load Tesseract's models (RapidOCR's load at the first page that needs them)."""
        if self._tess is None:
            self.rapid.recognize(image, EngineRequest(detect_direction=True))
            return
        self._tess.script_and_direction(image, OSD_ROUTING_CHARACTERS)
        self._tess.recognize(image, EngineRequest(language="en"))

    def recognize(self, image: Image, request: EngineRequest) -> Recognized:
        self.check_language(request.language)
        if self._tess is None or request.quick_mode or request.language == "zh":
            return self._by_rapid(image, request)
        if request.language == "en" and not request.detect_direction:
            return self._by_tesseract(image, request, -1)  # said so: no OSD needed
        osd = self._tess.script_and_direction(  # the script alone: a quicker look will do
            image, None if request.detect_direction else OSD_ROUTING_CHARACTERS)
        if request.language != "en" and (
            osd is None or osd.script not in LATIN_SCRIPTS
            or osd.script_confidence < MIN_SCRIPT_CONFIDENCE
        ):
            return self._by_rapid(image, request)
        found = 0 if osd is None else osd.direction
        return self._by_tesseract(image, request, found if request.detect_direction else -1)

    def _by_tesseract(self, image: Image, request: EngineRequest, direction: int) -> Recognized:
        page = upright(image, direction) if direction > 0 else image
        read = self._tess.recognize(page, EngineRequest(
            language="en", character_mode=request.character_mode))
        chars = sum(len(line.text) for line in read.lines)
        confidence = sum(line.score * len(line.text) for line in read.lines) / max(chars, 1)
        if chars and confidence < MIN_TESSERACT_CONFIDENCE and request.language != "en":
            self.routed["fallback"] += 1  # not the Latin page OSD thought: RapidOCR reads it
            return self._by_rapid(image, request)
        if self._tess.columns:  # "en" too: RapidOCR reads English as well
            self.routed["table"] += 1  # RapidOCR boxes each cell of a table
            return self._by_rapid(image, request)
        self.routed["tesseract"] += 1
        return Recognized(read.lines, direction)

    def _by_rapid(self, image: Image, request: EngineRequest) -> Recognized:
        self.routed["rapidocr"] += 1
        return self.rapid.recognize(image, request)


def _tesseract(threads: int, device: str) -> Any:
    """A TesseractBackend with its OSD and English models loaded, or None (logged) when
    tesserocr or the language data is missing."""
    try:
        from .tess import TesseractBackend

        backend = TesseractBackend(threads, device)
        import tesserocr

        backend._api("osd", tesserocr.PSM.OSD_ONLY)
        backend._api("eng", tesserocr.PSM.AUTO)
    except (ImportError, RuntimeError) as exc:
        logger.warning(
            "engine auto: Tesseract is not available (%s), every page goes to RapidOCR; "
            "for faster Latin pages: pip install 'ocrpipe[tesseract]' and apt-get install "
            "tesseract-ocr-eng tesseract-ocr-osd", exc,
        )
        return None
    return backend
