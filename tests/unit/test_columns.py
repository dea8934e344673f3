"""Table columns from word boxes (pipeline/service/columns.py): a wide gap at one place in
several consecutive lines is a column boundary; prose's word spaces are not."""

from __future__ import annotations

import random

from pipeline.service.columns import MIN_ROWS, WordBox, column_boundaries, split_at

HEIGHT = 14


def row(top: int, *cells: tuple[int, int]) -> list[WordBox]:
    return [(left, top, right, top + HEIGHT) for left, right in cells]


def statement(rows: int) -> list[list[WordBox]]:
    """Date 30-100, description 120-180 and 185-235 (two words), amount 660-700."""
    return [row(100 + 18 * n, (30, 100), (120, 180), (185, 235), (660, 700))
            for n in range(rows)]


def test_a_gap_in_the_same_place_down_several_rows_is_a_column() -> None:
    boundaries = column_boundaries(statement(6))
    assert boundaries == [(100, 120), (235, 660)]
    words = statement(1)[0]
    assert split_at(words, boundaries) == [1, 3]  # date | description | amount


def test_fewer_rows_than_the_minimum_are_no_table() -> None:
    assert column_boundaries(statement(MIN_ROWS - 1)) == []
    assert column_boundaries(statement(MIN_ROWS)) != []


def test_a_line_that_does_not_reach_across_neither_counts_nor_breaks_the_run() -> None:
    lines = statement(6)
    lines.insert(3, row(150, (560, 600), (640, 650)))  # a lone cell, right of the gaps
    assert (100, 120) in column_boundaries(lines)


def test_a_line_with_a_word_in_the_gap_breaks_the_run() -> None:
    lines = statement(6)
    lines[3] = row(154, (30, 100), (104, 180), (185, 235), (660, 700))  # date run on
    assert (100, 120) not in column_boundaries(lines)
    assert (235, 660) in column_boundaries(lines)


def test_a_numbered_list_is_no_table() -> None:
    lines = [row(100 + 18 * n, (30, 44), (60, 120), (126, 200)) for n in range(6)]
    assert column_boundaries(lines) == []


def test_prose_word_spaces_are_no_columns() -> None:
    chance = random.Random(7)
    lines = []
    for n in range(40):
        words, left = [], 30
        while left < 900:
            width = chance.randint(15, 90)
            words.append((left, 100 + 18 * n, left + width, 100 + 18 * n + HEIGHT))
            left += width + chance.randint(3, 6)  # a space: a third of a word's height
        lines.append(words)
    assert column_boundaries(lines) == []


def test_evenly_wide_word_spaces_are_no_columns() -> None:
    """Tesseract's eurotext sample: words 0.8 heights apart, all alike, lining up."""
    lines = [row(100 + 18 * n, (30, 100), (111, 180), (191, 260)) for n in range(6)]
    assert column_boundaries(lines) == []


def test_split_at_cuts_at_wide_gaps_that_overlap_a_boundary() -> None:
    words = row(0, (0, 50), (54, 110), (124, 150), (300, 350))  # gaps 4, 14, 150
    assert split_at(words, [(112, 118)]) == [2]
    assert split_at(words, [(140, 200)]) == [3]  # reaches into a word: a gap held part
    assert split_at(words, [(20, 30)]) == []  # inside a word
    assert split_at(words, [(51, 53)]) == []  # a word space
    assert split_at(words, []) == []
