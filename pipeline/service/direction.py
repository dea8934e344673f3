"""Page orientation (`detect_direction`): which of 0/90/180/270 degrees the page is turned.

`direction` is our reading of Huawei's field (the docs only say 0..359): the angle, in
degrees counter-clockwise, by which the page's content is turned in the image as sent.
0 is upright; 90 means the lines read bottom to top (the page was turned a quarter to
the left); 180 upside down; 270 the lines read top to bottom.

How it is found, from one text detection (no extra detection for an upright page):

1. the detected line boxes vote, weighted by their length, for horizontal or vertical
   lines (a box at least 1.5 times longer one way than the other votes; squares do not);
2. RapidOCR's crop step turns vertical crops a quarter counter-clockwise, and its text-line
   classifier (0 or 180 degrees) then says which way up each crop is; these votes,
   weighted by length and score, pick the page angle within the winning axis.

Per-line votes make the page decision robust: the classifier errs on single lines (it
flips a few good lines of an upright page, see DESIGN.md), rarely on a majority of them.
Boxes recognised on the turned-upright page are mapped back to the image as sent.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

Point = tuple[float, float]
ANGLES = (0, 90, 180, 270)
_ELONGATED = 1.5
"""The aspect ratio from which a box counts as a line (RapidOCR's own crop threshold)."""


def _sides(box: Sequence[Sequence[float]]) -> tuple[float, float]:
    """(width, height) of a 4-point box as RapidOCR orders it (tl, tr, br, bl)."""
    (x0, y0), (x1, y1), (x2, y2) = box[0], box[1], box[2]
    return math.hypot(x1 - x0, y1 - y0), math.hypot(x2 - x1, y2 - y1)


def vote_direction(
    boxes: Sequence[Sequence[Sequence[float]]], labels: Sequence[tuple[str, float]]
) -> int:
    """The page angle (0, 90, 180 or 270) from detected boxes and the classifier's
    (label, score) for each box's crop; 0 when there is nothing to go by."""
    scores = dict.fromkeys(ANGLES, 0.0)
    for box, (label, score) in zip(boxes, labels, strict=True):
        width, height = _sides(box)
        if height >= _ELONGATED * width:
            vertical = True
        elif width >= _ELONGATED * height:
            vertical = False
        else:
            continue
        flipped = "180" in label
        if vertical:
            angle = 90 if flipped else 270
        else:
            angle = 180 if flipped else 0
        scores[angle] += max(width, height) * float(score)
    best = max(ANGLES, key=lambda angle: (scores[angle], angle == 0))
    return best if scores[best] > 0 else 0


def upright(image: npt.NDArray[np.uint8], direction: int) -> npt.NDArray[np.uint8]:
    """`image` turned clockwise by `direction` degrees, so its content stands upright."""
    turns = {0: 0, 90: -1, 180: 2, 270: 1}[direction]  # np.rot90 turns counter-clockwise
    return np.ascontiguousarray(np.rot90(image, turns)) if turns else image


def to_sent(point: Point, direction: int, width: int, height: int) -> Point:
    """A point of the upright page back in the coordinates of the image as sent
    (`width` x `height`, the size before turning)."""
    u, v = point
    if direction == 90:
        return v, height - u
    if direction == 180:
        return width - u, height - v
    if direction == 270:
        return width - v, u
    return u, v
