"""The Tesseract backend (`--engine tesseract`), through tesserocr: an optional extra
(`pip install 'ocrpipe[tesseract]'`) over Debian's `tesseract-ocr`, `tesseract-ocr-eng`,
`tesseract-ocr-chi-sim` and `tesseract-ocr-osd` (orientation detection).

One thread per worker process (`OMP_THREAD_LIMIT`, set before tesseract loads): Tesseract's
OpenMP threads oversubscribe the cores when several processes run (DESIGN.md). Languages:
zh (the default, chi_sim+eng), en (eng), auto (eng+chi_sim).
`detect_direction` uses Tesseract's OSD; `quick_mode` reads one line (PSM 7);
`character_mode` gives per-symbol boxes. A line is cut where its words stand further
apart than `GAP_LINE_HEIGHTS`, and at the column boundaries of a table (columns.py): the
cells of a table row are blocks of their own. A page whose words are smaller than
`MIN_WORD_HEIGHT` pixels is read again scaled up (Tesseract misreads small print: a
100-dpi bank statement lost a row and read 01Aug2018 as Q1Aug2018; at 2x it read all).
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from itertools import pairwise
from statistics import median
from typing import Any

import numpy as np
from PIL import Image as PILImage

from pipeline.protocol.codes import INVALID_PARAMETER

from .apierror import ApiError
from .backend import Box, Char, EngineRequest, Image, Line, Recognized
from .columns import column_boundaries, split_at
from .direction import upright

LANGUAGES = {"": "chi_sim+eng", "zh": "chi_sim+eng", "en": "eng", "auto": "eng+chi_sim"}
TESSDATA_DIRS = (
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
)
"""Where Debian's language packs are; `TESSDATA_PREFIX` wins. (The tesserocr wheel bundles
its own libtesseract, which does not look there by itself.)"""


def tessdata_path() -> str:
    named = os.environ.get("TESSDATA_PREFIX")
    if named:
        return named
    for folder in TESSDATA_DIRS:
        if os.path.isfile(os.path.join(folder, "eng.traineddata")):
            return folder
    return ""


def _box(left: int, top: int, right: int, bottom: int) -> Box:
    x0, y0, x1, y1 = float(left), float(top), float(right), float(bottom)
    return ((x0, y0), (x1, y0), (x1, y1), (x0, y1))


class TesseractBackend:
    name = "tesseract"

    def __init__(self, threads: int, device: str = "cpu") -> None:
        os.environ["OMP_THREAD_LIMIT"] = "1"
        self._tesserocr: Any = importlib.import_module("tesserocr")
        self._apis: dict[tuple[str, int, int | None], Any] = {}
        self._path = tessdata_path()
        self.columns: list[tuple[int, int]] = []
        """The table column boundaries of the last page read (columns.py): none, no table."""

    def _api(self, language: str, psm: int, characters: int | None = None) -> Any:
        key = (language, psm, characters)
        if key not in self._apis:
            api = self._tesserocr.PyTessBaseAPI(path=self._path, lang=language, psm=psm)
            if characters is not None:
                api.SetVariable("min_characters_to_try", str(characters))
            self._apis[key] = api
        return self._apis[key]

    def check_language(self, language: str) -> None:
        if language not in LANGUAGES:
            raise ApiError(
                INVALID_PARAMETER,
                f"language {language!r} is not supported by this service's Tesseract engine: "
                "use zh (Chinese and English, the default), en or auto",
            )

    def recognize(self, image: Image, request: EngineRequest) -> Recognized:
        self.check_language(request.language)
        direction = -1
        if request.detect_direction:
            direction = self._orientation(image)
            image = upright(image, direction)
        lines, height = self._read(image, request)
        if not request.quick_mode and 0 < height < MIN_WORD_HEIGHT:
            scale = min(MAX_UPSCALE, WORD_HEIGHT / height)
            import cv2  # here: a worker that never scales a page up does not load it

            bigger: Image = np.asarray(
                cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC),
                dtype=np.uint8)
            back = (image.shape[1] / bigger.shape[1], image.shape[0] / bigger.shape[0])
            lines = [_scaled(line, *back) for line in self._read(bigger, request)[0]]
        return Recognized(lines, direction)

    def _read(self, image: Image, request: EngineRequest) -> tuple[list[Line], float]:
        """The lines of `image` and the median height of its words (0 for none)."""
        tesserocr = self._tesserocr
        psm = tesserocr.PSM.SINGLE_LINE if request.quick_mode else tesserocr.PSM.AUTO
        api = self._api(LANGUAGES[request.language], psm)
        api.SetImage(PILImage.fromarray(image[:, :, ::-1]))
        api.Recognize()
        iterator = api.GetIterator()
        self.columns = []
        if iterator is None:
            return [], 0.0
        found = _lines_of_words(tesserocr, iterator)
        if not found:
            return [], 0.0
        columns = column_boundaries([[w.bounds for w in line] for line in found])
        self.columns = columns
        lines = [_segment_line(words) for line in found
                 for gapped in _split_at_gaps(line) for words in _split_at_columns(gapped, columns)]
        if request.character_mode and lines:
            lines = self._with_chars(api, lines, tesserocr.RIL.SYMBOL)
        return lines, median(w.bounds[3] - w.bounds[1] for line in found for w in line)

    def _with_chars(self, api: Any, lines: list[Line], symbol: Any) -> list[Line]:
        """Attach each symbol to the line whose box holds its centre."""
        chars: list[list[Char]] = [[] for _ in lines]
        for item in self._tesserocr.iterate_level(api.GetIterator(), symbol):
            text, bounds = item.GetUTF8Text(symbol), item.BoundingBox(symbol)
            if not text or bounds is None:
                continue
            cx, cy = (bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2
            for index, line in enumerate(lines):
                (x0, y0), _, (x1, y1), _ = line.box
                if x0 <= cx <= x1 and y0 <= cy <= y1:
                    chars[index].append(Char(text, _box(*bounds), item.Confidence(symbol) / 100))
                    break
        return [
            Line(line.text, line.box, line.score, tuple(found))
            for line, found in zip(lines, chars, strict=True)
        ]

    def _orientation(self, image: Image) -> int:
        """OSD's page angle (counter-clockwise, as `direction`); 0 when OSD cannot tell."""
        found = self.script_and_direction(image)
        return 0 if found is None else found.direction

    def script_and_direction(self, image: Image, characters: int | None = None) -> Osd | None:
        """Tesseract's orientation and script detection (OSD) of the BGR `image`; None
        when it finds too little text to tell. `characters`: OSD classifies between this
        and 5 times this many characters (Tesseract's `min_characters_to_try`, 50 when
        None); fewer is faster and less sure (OSD_ROUTING_CHARACTERS)."""
        tesserocr = self._tesserocr
        api = self._api("osd", tesserocr.PSM.OSD_ONLY, characters)
        api.SetImage(PILImage.fromarray(image[:, :, ::-1]))
        result = api.DetectOrientationScript()
        if not result:
            return None
        # OSD's orient_deg is the counter-clockwise turn that makes the page upright; ours is
        # the turn the content has: the opposite.
        direction = {0: 0, 90: 270, 180: 180, 270: 90}.get(int(result["orient_deg"]), 0)
        return Osd(direction, str(result["script_name"]), float(result["script_conf"]))


@dataclass(frozen=True)
class Osd:
    direction: int
    """0/90/180/270: the turn the page's content has (as `Recognized.direction`)."""
    script: str
    """Tesseract's script name: Latin, Han, Cyrillic, ..."""
    script_confidence: float


OSD_ROUTING_CHARACTERS = 20
"""Characters OSD classifies at least (`min_characters_to_try`; at most 5 times this) when
only the page's script is wanted (the auto engine's routing). Tesseract's 50 took 2.1x
as long on 22 corpus pages (26.9 s against 12.8 s, one process) and gave every page the
same route (the bank statement, routed to RapidOCR as a table either way, aside)."""

MIN_WORD_HEIGHT = 20
"""Median word height (pixels, ascenders to descenders) below which a page is read again
scaled up to WORD_HEIGHT (at most MAX_UPSCALE times): 10-point print is ~28 px at 200
dpi, ~14 px on a 100-dpi scan."""
WORD_HEIGHT = 30
MAX_UPSCALE = 3.0

GAP_LINE_HEIGHTS = 1.5
"""Words further apart than this many line heights are two blocks (table cells, columns
Tesseract took for one line), as RapidOCR's detection and Huawei's answers have them."""


@dataclass(frozen=True)
class _Word:
    text: str
    bounds: tuple[int, int, int, int]
    confidence: float


def _lines_of_words(tesserocr: Any, iterator: Any) -> list[list[_Word]]:
    """The page's words, grouped by the text line Tesseract put them in."""
    word, line_level = tesserocr.RIL.WORD, tesserocr.RIL.TEXTLINE
    lines: list[list[_Word]] = []
    for item in tesserocr.iterate_level(iterator, word):
        text = (item.GetUTF8Text(word) or "").strip()
        bounds = item.BoundingBox(word)
        if item.IsAtBeginningOf(line_level) or not lines:
            lines.append([])
        if text and bounds is not None:
            lines[-1].append(_Word(text, tuple(bounds), item.Confidence(word) / 100.0))
    return [line for line in lines if line]


def _split_at_gaps(words: list[_Word]) -> list[list[_Word]]:
    height = max(w.bounds[3] - w.bounds[1] for w in words)
    segments = [[words[0]]]
    for before, word in pairwise(words):
        if word.bounds[0] - before.bounds[2] > GAP_LINE_HEIGHTS * height:
            segments.append([])
        segments[-1].append(word)
    return segments


def _split_at_columns(words: list[_Word], columns: list[tuple[int, int]]) -> list[list[_Word]]:
    if not columns:
        return [words]
    cuts = split_at([w.bounds for w in words], columns)
    return [words[a:b] for a, b in pairwise([0, *cuts, len(words)])]


def _scaled(line: Line, fx: float, fy: float) -> Line:
    def box(b: Box) -> Box:
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = b
        return ((x0 * fx, y0 * fy), (x1 * fx, y1 * fy), (x2 * fx, y2 * fy), (x3 * fx, y3 * fy))

    chars = tuple(Char(c.char, box(c.box), c.score) for c in line.chars)
    return Line(line.text, box(line.box), line.score, chars)


def _segment_line(words: list[_Word]) -> Line:
    text = words[0].text
    for before, word in pairwise(words):
        cjk = _is_cjk(before.text[-1]) and _is_cjk(word.text[0])
        text += word.text if cjk else " " + word.text
    box = _box(min(w.bounds[0] for w in words), min(w.bounds[1] for w in words),
               max(w.bounds[2] for w in words), max(w.bounds[3] for w in words))
    return Line(text, box, sum(w.confidence for w in words) / len(words))


def _is_cjk(char: str) -> bool:
    return "\u3000" <= char <= "\u9fff" or "\uf900" <= char <= "\ufaff"

