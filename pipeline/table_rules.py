"""Ruled lines of a page's tables, found in the page image: the boundaries of rows and
columns where the table draws them.

    layout_model.py  the page's layout regions (tables, and figures that may be tables)
    table_rules.py   the ruled lines inside those regions (this module)
    region_tables.py a table region's blocks into rows and columns, rules first

OCR boxes alone cannot tell a table's columns apart where a row is read as one box
("ADIR  Area of dominant influence") or where the layout model's table region overhangs a
sidebar; the rules the table is drawn with can. Each table or figure region (the model
takes ruled tables for pictures) is cut out of the page with a margin, binarised (Otsu),
and opened with a long thin kernel, once across and once down, so only straight runs of
ink longer than any character stroke are left; a short closing first joins the dashes of
a dashed rule. A run is kept when it is thin and stands alone: the pixels just above and
below a horizontal rule (left and right of a vertical one) are mostly blank, which a text
baseline of serif letters is not. A table set without vertical rules parts its columns
with white space: a strip down the region that (almost) no line of text crosses, with
text on both sides, counts as a column rule too (so a row the OCR read as one box,
"ADIR  Area of dominant influence", is still cut in two). Each rule becomes a `Region`
of kind "rule", a box one rule thick, in the page image's pixels like the other regions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import cv2
import numpy as np

from pipeline.models import Region

RULE = "rule"
SEARCHED = ("table", "figure")
"""Region kinds searched for rules."""
MARGIN = 0.02
"""The region is searched this share of the page beyond its box (the model's boxes are
tight: a table's top rule often lies just outside)."""
MIN_ACROSS, MIN_DOWN = 0.08, 0.15
"""A rule is at least this share of the searched width (across) or height (down) long."""
MIN_PIXELS = 30
MAX_THICKNESS = 0.006
"""...and at most this share of the page's longer side thick (a shaded row is no rule)."""
DASH_GAP = 4
"""Pixels between the dashes of a dashed rule, at most."""
BESIDE_INK = 0.35
"""A rule's neighbouring rows (columns) of pixels have at most this share of ink."""
MIN_LINES = 4
GUTTER_LINES = 0.15
"""A white gutter between columns is crossed by at most this share of the lines..."""
SIDES_LINES = 0.5
"""...has text on its left and on its right in at least this share of them..."""
GUTTER_SHARE = 0.015
"""...and is at least this share of the region's width wide."""


def find_rules(gray: np.ndarray, regions: Iterable[Region]) -> tuple[Region, ...]:
    """The ruled lines inside the page's table and figure regions (`gray`: the page as
    sent to OCR, one channel), each once even where regions overlap."""
    height, width = gray.shape[:2]
    pad = round(MARGIN * max(width, height))
    thickest = max(3, round(MAX_THICKNESS * max(width, height)))
    found: set[tuple[int, int, int, int]] = set()
    for region in regions:
        if region.kind not in SEARCHED:
            continue
        x0, y0 = max(region.box[0] - pad, 0), max(region.box[1] - pad, 0)
        x1, y1 = min(region.box[2] + pad, width), min(region.box[3] + pad, height)
        if x1 - x0 < MIN_PIXELS or y1 - y0 < MIN_PIXELS:
            continue
        ink = _ink(gray[y0:y1, x0:x1])
        rules = _rules(ink, thickest)
        inner = (region.box[0] - x0, region.box[1] - y0, region.box[2] - x0, region.box[3] - y0)
        for left, top, right, bottom in rules + _gutters(ink, rules, inner):
            found.add((left + x0, top + y0, right + x0, bottom + y0))
    return tuple(Region("rule", box) for box in sorted(_distinct(found)))


def _ink(crop: np.ndarray) -> np.ndarray:
    """1 where the crop is dark (Otsu's threshold), else 0."""
    _, binary = cv2.threshold(np.ascontiguousarray(crop), 0, 1,
                              cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    return np.asarray(binary, dtype=np.uint8)


def _rules(ink: np.ndarray, thickest: int) -> list[tuple[int, int, int, int]]:
    height, width = ink.shape
    across = max(MIN_PIXELS, round(MIN_ACROSS * width))
    down = max(MIN_PIXELS, round(MIN_DOWN * height))
    rules = []
    for horizontal, length in ((True, across), (False, down)):
        shape = (DASH_GAP + 1, 1) if horizontal else (1, DASH_GAP + 1)
        joined = cv2.morphologyEx(ink, cv2.MORPH_CLOSE, np.ones(shape[::-1], np.uint8))
        kernel = np.ones((1, length) if horizontal else (length, 1), np.uint8)
        lines = cv2.morphologyEx(joined, cv2.MORPH_OPEN, kernel)
        count, _, stats, _ = cv2.connectedComponentsWithStats(lines, connectivity=8)
        for x, y, w, h, _area in stats[1:count]:
            thickness = h if horizontal else w
            if thickness > thickest:
                continue
            box = (int(x), int(y), int(x + w), int(y + h))
            if _alone(ink, box, horizontal):
                rules.append(box)
    return rules


def _gutters(ink: np.ndarray, rules: Sequence[tuple[int, int, int, int]],
             inner: tuple[int, int, int, int]) -> list[tuple[int, int, int, int]]:
    """Columns parted by white space alone: a strip down the region, inside its text,
    that at most `GUTTER_LINES` of its lines of text cross (a section heading may), with
    text on both sides in most lines; a one-pixel rule down its middle, broken where a
    line crosses it (that line is not cut there)."""
    left, top, right, bottom = (max(v, 0) for v in inner)
    text = ink[top:bottom, left:right].copy()
    for x0, y0, x1, y1 in rules:  # the rules are no text
        text[max(y0 - top, 0):max(y1 - top, 0), max(x0 - left, 0):max(x1 - left, 0)] = 0
    rows = text.any(axis=1)
    lines = []
    start = None
    for y, inked in enumerate([*np.asarray(rows, dtype=bool).tolist(), False]):
        if inked and start is None:
            start = y
        elif not inked and start is not None:
            lines.append((start, y))
            start = None
    if len(lines) < MIN_LINES:
        return []
    occupied = np.array([text[a:b].any(axis=0) for a, b in lines])  # lines x columns
    crossed = occupied.sum(axis=0)
    blank = crossed <= GUTTER_LINES * len(lines)
    least = max(MIN_PIXELS // 2, round(GUTTER_SHARE * (right - left)))
    gutters = []
    x = 0
    while x < len(blank):
        if not blank[x]:
            x += 1
            continue
        end = x
        while end < len(blank) and blank[end]:
            end += 1
        beside = occupied[:, :x].any(axis=1).sum(), occupied[:, end:].any(axis=1).sum()
        ruled = any(x0 - left <= end and x1 - left >= x for x0, _, x1, _ in rules
                    if x1 - x0 < 10)  # a drawn rule stands there already
        if end - x >= least and min(beside) >= SIDES_LINES * len(lines) and not ruled:
            middle = left + (x + end) // 2
            across: list[bool] = np.asarray(occupied[:, x:end].any(axis=1), dtype=bool).tolist()
            for first, last in _runs([not a for a in across]):  # not over a heading
                upper = (lines[first - 1][1] + lines[first][0]) // 2 if first else lines[0][0]
                lower = ((lines[last][1] + lines[last + 1][0]) // 2 if last + 1 < len(lines)
                         else lines[-1][1])
                gutters.append((middle, top + upper, middle + 1, top + lower))
        x = end
    return gutters


def _runs(flags: Sequence[bool]) -> list[tuple[int, int]]:
    """(first, last) index of each run of true flags."""
    runs: list[tuple[int, int]] = []
    for index, flag in enumerate(flags):
        if flag and runs and runs[-1][1] == index - 1:
            runs[-1] = (runs[-1][0], index)
        elif flag:
            runs.append((index, index))
    return runs


def _alone(ink: np.ndarray, box: tuple[int, int, int, int], horizontal: bool) -> bool:
    """Blank on both sides along most of its length: a rule, not the baseline or the
    stems of a line of text."""
    left, top, right, bottom = box
    height, width = ink.shape
    if horizontal:
        sides = [ink[max(top - 3, 0):max(top - 1, 0), left:right],
                 ink[min(bottom + 1, height):min(bottom + 3, height), left:right]]
    else:
        sides = [ink[top:bottom, max(left - 3, 0):max(left - 1, 0)],
                 ink[top:bottom, min(right + 1, width):min(right + 3, width)]]
    shares = [float(side.mean()) for side in sides if side.size]
    return all(share <= BESIDE_INK for share in shares)


def _distinct(boxes: Iterable[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """One box per rule where overlapping regions found it twice (nearly the same box)."""
    kept: list[tuple[int, int, int, int]] = []
    for box in sorted(boxes, key=lambda b: -((b[2] - b[0]) + (b[3] - b[1]))):
        if not any(_same(box, other) for other in kept):
            kept.append(box)
    return kept


def _same(a: Sequence[int], b: Sequence[int]) -> bool:
    """Two finds of one rule: lying the same way, touching, and the shorter one mostly
    along the other."""
    across = a[2] - a[0] >= a[3] - a[1]
    if across != (b[2] - b[0] >= b[3] - b[1]):
        return False
    long_axis, thin_axis = (0, 1) if across else (1, 0)
    shared = (min(a[long_axis + 2], b[long_axis + 2]) - max(a[long_axis], b[long_axis]))
    shorter = min(a[long_axis + 2] - a[long_axis], b[long_axis + 2] - b[long_axis])
    touching = min(a[thin_axis + 2], b[thin_axis + 2]) - max(a[thin_axis], b[thin_axis]) >= 0
    return touching and shared >= 0.9 * shorter
