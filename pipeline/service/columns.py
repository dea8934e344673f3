"""Table columns found from word boxes: where a blank gap lines up down several lines.

Tesseract reads a table row as one text line when its cells stand close together (on a
bank statement, "01Aug2018 Clearing Cheque" is a date cell and a description cell).
RapidOCR's detector and Huawei's answers give each cell a block of its own, and the
Word writer's table builder needs them so. A word gap inside one line says little; the
same gap, at the same place, in several lines one under the other says "column". Prose
does not do that: its word gaps are narrow (a quarter of a line height) and fall at
random places, so MIN_ROWS consecutive lines with a wide gap at one x is a table.

Lines are lists of word boxes `(left, top, right, bottom)` in pixels; the answer is the
x ranges of the column boundaries, and `split_lines` cuts each line at them.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from statistics import median

import numpy as np

WordBox = tuple[int, int, int, int]

MIN_ROWS = 4
"""Consecutive lines (top to bottom) that must share a gap for it to be a column."""
MIN_GAP_HEIGHTS = 0.6
"""A gap narrower than this many word heights is a space between words, not a column
(word spaces measured 0.3-0.4 on the corpus's statement, cells 0.9)..."""
MIN_GAP_SPACES = 2.0
"""... nor is one narrower than this many times the line's narrowest gap (its word
space): Tesseract's eurotext sample sets its words 0.8 heights apart, evenly."""
LONE_GAP_HEIGHTS = 1.0
"""A line of two words has no word space to compare with: its gap must be this wide."""
MARKER_HEIGHTS = 1.5
"""A line's first word no wider than this many word heights is a list marker ("1.", a
bullet): the gap after it is a list's indent, not a column (a numbered list lines up as
well as a table does)."""


def column_boundaries(lines: Sequence[Sequence[WordBox]]) -> list[tuple[int, int]]:
    """The x ranges `[start, end)` where at least MIN_ROWS consecutive lines that reach
    across them have a wide gap there (and no line that reaches across has a word there
    in between). Lines that do not reach across an x (a lone number cell) neither count
    nor break the run."""
    rows = sorted((line for line in lines if len(line) >= 2), key=lambda ln: min(w[1] for w in ln))
    if len(rows) < MIN_ROWS:
        return []
    width = max(w[2] for line in rows for w in line) + 1
    run = np.zeros(width, dtype=np.int32)
    best = np.zeros(width, dtype=np.int32)
    for line in rows:
        words = sorted(line)
        gap = np.zeros(width, dtype=bool)
        least = _least_gap(words)
        height = median(w[3] - w[1] for w in words)
        for index, (before, after) in enumerate(pairwise(words)):
            marker = index == 0 and before[2] - before[0] <= MARKER_HEIGHTS * height
            if after[0] - before[2] >= least and not marker:
                gap[before[2]:after[0]] = True
        across = np.zeros(width, dtype=bool)
        across[words[0][0]:words[-1][2]] = True
        run = np.where(gap, run + 1, np.where(across, 0, run))
        np.maximum(best, run, out=best)
    return _ranges(best >= MIN_ROWS)


def _least_gap(words: Sequence[WordBox]) -> float:
    """The narrowest gap between two words of the line (sorted) that may be a column's."""
    height = median(w[3] - w[1] for w in words)
    gaps = [after[0] - before[2] for before, after in pairwise(words)]
    if len(gaps) < 2:
        return LONE_GAP_HEIGHTS * height
    space = max(min(gaps), 1)
    return max(MIN_GAP_HEIGHTS * height, MIN_GAP_SPACES * space)


def _ranges(mask: np.ndarray) -> list[tuple[int, int]]:
    edges = np.flatnonzero(np.diff(np.concatenate(([0], mask.astype(np.int8), [0]))))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def split_at(words: Sequence[WordBox], boundaries: Sequence[tuple[int, int]]) -> list[int]:
    """Indexes (into `words`, sorted left to right) where a new segment starts: after a
    wide gap (as column_boundaries counts them) that overlaps a column boundary. (A
    boundary is where the gaps of a run of lines overlap: one line's gap may hold only
    part of it.)"""
    if len(words) < 2:
        return []
    least = _least_gap(words)
    cuts = []
    for index in range(1, len(words)):
        left, right = words[index - 1][2], words[index][0]
        if right - left >= least and any(left < end and start < right
                                         for start, end in boundaries):
            cuts.append(index)
    return cuts
