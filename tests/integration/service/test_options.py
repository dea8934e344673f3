"""The embedded service's options and APIs over real HTTP (session `ocr_service`):
detect_direction, character_mode, quick_mode, language, markdown; web-image, handwriting,
smart-document-recognizer, not-subscribed APIs. Plus the orientation vote as units.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from PIL import Image

from pipeline.service.direction import to_sent, upright, vote_direction
from pipeline.testing.cer import cer
from tests.support.paths import DATA_DIR
from tests.support.service import OcrService, assert_error, b64, call, png, words

LINES = ["Invoice No. 4711", "Total 99.50 EUR"]


def rotated(make_text_image: Callable[..., bytes], angle: int) -> tuple[bytes, Image.Image]:
    """The LINES page turned `angle` degrees counter-clockwise (PIL's sense)."""
    page = Image.open(io.BytesIO(make_text_image(LINES)))
    turned = page.rotate(angle, expand=True, fillcolor="white")
    return png(turned), turned


@pytest.mark.parametrize("angle", [0, 90, 180, 270])
async def test_detect_direction_reads_turned_pages_with_boxes_as_sent(
    ocr_service: OcrService, make_text_image: Callable[..., bytes], angle: int
) -> None:
    data, image = rotated(make_text_image, angle)
    answer = await call(ocr_service, {"image": b64(data), "detect_direction": True})

    assert answer.status == 200, answer.body
    result = answer.body["result"]
    assert result["direction"] == angle
    assert words(answer) == LINES
    first, second = (block["location"] for block in result["words_block_list"])
    for corners in (first, second):
        xs, ys = [x for x, _ in corners], [y for _, y in corners]
        assert 0 <= min(xs) and max(xs) <= image.width and 0 <= min(ys) and max(ys) <= image.height
        long_side_is_vertical = max(ys) - min(ys) > max(xs) - min(xs)
        assert long_side_is_vertical == (angle in (90, 270))
    # The first line is nearest the page's top edge, wherever that edge went.
    centre = {
        0: lambda c: -sum(y for _, y in c),
        180: lambda c: sum(y for _, y in c),
        90: lambda c: -sum(x for x, _ in c),
        270: lambda c: sum(x for x, _ in c),
    }[angle]
    assert centre(first) > centre(second)


async def test_without_detect_direction_a_turned_page_is_misread(
    ocr_service: OcrService, make_text_image: Callable[..., bytes]
) -> None:
    data, _ = rotated(make_text_image, 180)
    answer = await call(ocr_service, {"image": b64(data)})
    assert answer.status == 200, answer.body
    assert answer.body["result"]["direction"] == -1
    assert words(answer) != LINES


async def test_rotated_phototest_pages_are_read_with_detect_direction(
    ocr_service: OcrService,
) -> None:
    pages = sorted((DATA_DIR / "rotated").glob("*.png"))
    assert len(pages) == 2
    for page in pages:
        truth = page.with_suffix("").with_suffix(".gt.txt").read_text(encoding="utf-8")
        body = {"image": b64(page.read_bytes()), "detect_direction": True}
        answer = await call(ocr_service, body)
        assert answer.status == 200, answer.body
        assert answer.body["result"]["direction"] in (90, 180)
        assert cer("\n".join(words(answer)), truth) <= 0.01, (page.name, words(answer))


async def test_character_mode_gives_char_boxes_inside_the_line(
    ocr_service: OcrService, make_text_image: Callable[..., bytes]
) -> None:
    body = {"image": b64(make_text_image(["ABC 123"])), "character_mode": True}
    answer = await call(ocr_service, body)
    assert answer.status == 200, answer.body
    (block,) = answer.body["result"]["words_block_list"]
    chars = block["char_list"]
    assert "".join(c["char"] for c in chars) == "ABC123"
    (x0, y0), _, (x2, y2), _ = block["location"]
    lefts = []
    for char in chars:
        assert 0 < char["char_confidence"] <= 1
        xs = [x for x, _ in char["char_location"]]
        ys = [y for _, y in char["char_location"]]
        assert x0 - 2 <= min(xs) and max(xs) <= x2 + 2 and y0 - 2 <= min(ys) and max(ys) <= y2 + 2
        lefts.append(min(xs))
    assert lefts == sorted(lefts)


async def test_char_list_only_with_character_mode(
    ocr_service: OcrService, make_text_image: Callable[..., bytes]
) -> None:
    answer = await call(ocr_service, {"image": b64(make_text_image(["ABC 123"]))})
    assert "char_list" not in answer.body["result"]["words_block_list"][0]


async def test_quick_mode_reads_one_line_without_detection(
    ocr_service: OcrService, make_text_image: Callable[..., bytes]
) -> None:
    answer = await call(ocr_service, {"image": b64(make_text_image(["HELLO 2024"])),
                                      "quick_mode": True})
    assert answer.status == 200, answer.body
    (block,) = answer.body["result"]["words_block_list"]
    assert block["words"].replace(" ", "") == "HELLO2024"
    width, height = Image.open(io.BytesIO(make_text_image(["HELLO 2024"]))).size
    assert block["location"] == [[0, 0], [width, 0], [width, height], [0, height]]


@pytest.mark.parametrize("language", ["en", "zh", "auto", "EN"])
async def test_supported_languages(
    ocr_service: OcrService, make_text_image: Callable[..., bytes], language: str
) -> None:
    body = {"image": b64(make_text_image(["Hello"])), "language": language}
    answer = await call(ocr_service, body)
    assert answer.status == 200, answer.body


async def test_unsupported_language_is_ais_0101_naming_the_supported_ones(
    ocr_service: OcrService,
) -> None:
    answer = await call(ocr_service, {"image": "aGVsbG8=", "language": "ja"})
    assert_error(answer, 400, "AIS.0101")
    assert "'ja'" in answer.body["error_msg"] and "en" in answer.body["error_msg"]


@pytest.mark.parametrize("api", ["web-image", "handwriting"])
async def test_web_image_and_handwriting_answer_like_general_text(
    ocr_service: OcrService, make_text_image: Callable[..., bytes], api: str
) -> None:
    body = {"image": b64(make_text_image(["Line one", "Line two"]))}
    answer = await call(ocr_service, body, url=ocr_service.api_url(api))
    assert answer.status == 200, answer.body
    assert words(answer) == ["Line one", "Line two"]
    assert answer.body["result"]["words_block_count"] == 2


async def test_smart_document_recognizer_reads_data_and_answers_a_list(
    ocr_service: OcrService, two_page_pdf: bytes
) -> None:
    url = ocr_service.api_url("smart-document-recognizer")
    body = {"data": b64(two_page_pdf), "pdf_page_number": 2,
            "return_markdown_result": True}
    answer = await call(ocr_service, body, url=url)

    assert answer.status == 200, answer.body
    (page,) = answer.body["result"]
    ocr = page["ocr_result"]
    assert [b["words"] for b in ocr["words_block_list"]] == ["Second page 42"]
    assert ocr["markdown_result"] == "Second page 42"
    assert_error(await call(ocr_service, {"image": body["data"]}, url=url), 400, "AIS.0101")


@pytest.mark.parametrize("api", ["general-table", "id-card", "vat-invoice"])
async def test_other_known_apis_are_not_subscribed(ocr_service: OcrService, api: str) -> None:
    answer = await call(ocr_service, {"image": "aGVsbG8="}, url=ocr_service.api_url(api))
    assert_error(answer, 403, "ModelArts.4204")


async def test_blank_page_with_all_options(ocr_service: OcrService) -> None:
    body = {"image": b64(png(Image.new("RGB", (300, 200), "white"))), "detect_direction": True,
            "character_mode": True}
    answer = await call(ocr_service, body)
    assert answer.status == 200, answer.body
    assert answer.body["result"]["words_block_list"] == []
    assert answer.body["result"]["direction"] == 0


# ---- units -------------------------------------------------------------------------------


def horizontal(length: float = 100) -> list[list[float]]:
    return [[0, 0], [length, 0], [length, 20], [0, 20]]


def vertical(length: float = 100) -> list[list[float]]:
    return [[0, 0], [20, 0], [20, length], [0, length]]


@pytest.mark.parametrize(
    ("boxes", "labels", "expected"),
    [
        ([horizontal()] * 3, [("0", 0.9)] * 3, 0),
        ([horizontal()] * 3, [("180", 0.9)] * 2 + [("0", 0.9)], 180),
        ([vertical()] * 2, [("180", 0.99)] * 2, 90),
        ([vertical()] * 2, [("0", 0.99)] * 2, 270),
        # One long line outweighs two short flipped ones.
        ([horizontal(400), horizontal(50), horizontal(50)],
         [("0", 0.9), ("180", 0.9), ("180", 0.9)], 0),
        ([[[0, 0], [20, 0], [20, 20], [0, 20]]], [("180", 1.0)], 0),  # squares do not vote
        ([], [], 0),
    ],
)
def test_vote_direction(
    boxes: list[list[list[float]]], labels: list[tuple[str, float]], expected: int
) -> None:
    assert vote_direction(boxes, labels) == expected


@pytest.mark.parametrize("direction", [0, 90, 180, 270])
def test_upright_and_to_sent_are_inverse(direction: int) -> None:
    import numpy as np

    sent = np.zeros((30, 50, 3), dtype=np.uint8)  # 50 wide, 30 high
    sent[2, 7] = 255  # the pixel at x=7, y=2
    turned = upright(sent, direction)
    v, u = (int(i) for i in np.argwhere(turned[:, :, 0] == 255)[0])
    # Pixel centres: map (u+0.5, v+0.5) back and land in the pixel at (7, 2).
    x, y = to_sent((u + 0.5, v + 0.5), direction, 50, 30)
    assert (int(x), int(y)) == (7, 2)
