"""The engine interface: what a recognition backend (RapidOCR, Tesseract) takes and gives.

A backend is built once per worker process and then called page after page:

    backend = make_backend("rapidocr", threads=2)      # engine.py
    page = backend.recognize(bgr_image, EngineRequest(detect_direction=True))

`recognize` answers lines in the coordinates of the *upright* page (the image turned
clockwise by `direction`); `to_blocks` puts them in reading order there, then maps the
boxes back to the image as sent, which is what the protocol asks for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from .blocks import CharBox, Corners, TextBlock, reading_order, to_corners
from .direction import to_sent

Point = tuple[float, float]
Box = tuple[Point, Point, Point, Point]
Image = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class Char:
    char: str
    box: Box
    score: float


@dataclass(frozen=True)
class Line:
    """One recognised line in the pixels of the upright page."""

    text: str
    box: Box
    score: float
    chars: tuple[Char, ...] = ()


@dataclass(frozen=True)
class EngineRequest:
    detect_direction: bool = False
    quick_mode: bool = False
    character_mode: bool = False
    language: str = ""
    """"" is the engine's default language."""


@dataclass(frozen=True)
class Recognized:
    lines: list[Line]
    direction: int
    """0/90/180/270 when asked for (`detect_direction`), else -1."""


class Backend(Protocol):
    name: str

    def check_language(self, language: str) -> None:
        """ApiError AIS.0101 if this engine cannot read `language`."""

    def recognize(self, image: Image, request: EngineRequest) -> Recognized:
        """Lines of the BGR `image`, in the coordinates of the upright page."""


def to_blocks(recognized: Recognized, width: int, height: int) -> list[TextBlock]:
    """Blocks in reading order (decided on the upright page), boxes in the pixels of the
    `width` x `height` image as sent."""
    direction = max(recognized.direction, 0)

    def corners(box: Box) -> Corners:
        return to_corners([to_sent(p, direction, width, height) for p in box])

    upright = [
        (TextBlock(line.text, to_corners(line.box), round(line.score, 4)), line)
        for line in recognized.lines
    ]
    by_id = {id(block): line for block, line in upright}
    ordered = reading_order(block for block, _ in upright)
    result = []
    for block in ordered:
        line = by_id[id(block)]
        chars = tuple(
            CharBox(c.char, corners(c.box), round(c.score, 4))
            for c in line.chars
        )
        result.append(
            TextBlock(line.text, corners(line.box), block.confidence, chars)
        )
    return result

