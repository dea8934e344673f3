"""The RapidOCR backend (the default engine): PP-OCR detection, recognition and, for
`detect_direction`, the text-line classifier, all through onnxruntime on the CPU.

Models ship in the `rapidocr` wheel: nothing is downloaded. The classifier is not used to
turn single lines during recognition (`Global.use_cls` off: on clean upright pages it flips
good lines, DESIGN.md); it only votes on the page's orientation (direction.py).

This module reaches into RapidOCR 3.x's step methods (`preprocess_img`, `detect_and_crop`,
`recognize_txt`, `build_final_output`) so that an upright page is detected once, whether or
not its direction was asked for; `pyproject.toml` pins rapidocr to 3.x for that.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from pipeline.protocol.codes import INVALID_PARAMETER

from .apierror import ApiError, SetupError
from .backend import Box, Char, EngineRequest, Image, Line, Recognized
from .direction import upright, vote_direction

DETECTION_MAX_SIDE = 1280
"""Text detection sees a page scaled down to this longer side (recognition still reads
each line from the page as sent). RapidOCR's own rule only scales up (short side to 736),
so it detects a 200-dpi A4 scan at 1654 x 2339 pixels. Pages no longer than this keep
RapidOCR's rule. Measured with benchmarks/rapid_tuning.py (13 corpus pages with ground
truth, one thread): 1280 alone 1.19-1.29x pages/s at the same CER (1024: bag CER 0.040
-> 0.067); with one-line recognition batches (engine_params) 1.36-1.37x over RapidOCR's
defaults, bag CER 0.0402 -> 0.0406, in both orders of the interleaved run."""
RAPIDOCR_DETECTION = ("min", 736)
"""RapidOCR's default detection size rule: (limit_type, limit_side_len)."""
PREPROCESS_MAX_SIDE = 2000
"""RapidOCR's Global.max_side_len: pages are scaled to this before anything else."""

DEFAULT_LANGUAGE = "zh"
LANGUAGES = frozenset({"", "zh", "en", "auto"})
"""Languages the one PP-OCR model (Chinese + English, digits, punctuation) serves."""


def engine_params(threads: int, device: str = "cpu") -> dict[str, Any]:
    """RapidOCR parameters: no per-line angle classifier, quiet, `threads` onnxruntime
    threads (workers x threads = cores, so processes do not oversubscribe them); on
    `device = "cuda"` detection and recognition run on onnxruntime's CUDA provider.

    On the CPU lines are recognised one at a time (`Rec.rec_batch_num` 1, RapidOCR's
    default is 6): a batch is padded to its widest line, and with one thread per process
    batching buys nothing to pay for that (measured 1.19x pages/s, same CER,
    benchmarks/rapid_tuning.py). A GPU keeps RapidOCR's batches."""
    return {
        "Rec.rec_batch_num": 1 if device == "cpu" else 6,
        "Global.use_cls": False,
        "Global.log_level": "critical",
        "EngineConfig.onnxruntime.intra_op_num_threads": threads,
        "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        "EngineConfig.onnxruntime.use_cuda": device == "cuda",
    }


def check_device(device: str) -> None:
    """SetupError unless RapidOCR can run on `device` here (cpu always can)."""
    if device == "cpu":
        return
    import onnxruntime

    if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        raise SetupError(
            "--device cuda needs onnxruntime's CUDA provider, which this installation lacks: "
            "pip install onnxruntime-gpu (in place of onnxruntime) on a machine with an "
            "NVIDIA GPU and CUDA, or use --device cpu"
        )


class RapidBackend:
    name = "rapidocr"
    max_side = PREPROCESS_MAX_SIDE
    """RapidOCR works on pages scaled to this: a larger one is scaled down on load."""

    def __init__(
        self,
        threads: int,
        device: str = "cpu",
        tuning: Mapping[str, Any] | None = None,
        detection_max_side: int | None = DETECTION_MAX_SIDE,
    ) -> None:
        """`tuning`: RapidOCR parameters over `engine_params` (benchmarks);
        `detection_max_side` None keeps RapidOCR's own detection size rule."""
        self._detection_max_side = detection_max_side
        logging.getLogger("RapidOCR").setLevel(logging.CRITICAL)
        import cv2
        import onnxruntime
        from rapidocr import RapidOCR

        onnxruntime.set_default_logger_severity(3)
        cv2.setNumThreads(threads)
        self._ocr: Any = RapidOCR(params=engine_params(threads, device) | dict(tuning or {}))

    def check_language(self, language: str) -> None:
        if language not in LANGUAGES:
            raise ApiError(
                INVALID_PARAMETER,
                f"language {language!r} is not supported by this service's RapidOCR engine: "
                "use zh (Chinese and English, the default), en or auto",
            )

    def warm_up(self, image: Image) -> None:
        self.recognize(image, EngineRequest(detect_direction=True, character_mode=True))

    def recognize(self, image: Image, request: EngineRequest) -> Recognized:
        """Lines of the BGR `image` (upright page coordinates) and its direction."""
        self.check_language(request.language)
        if request.quick_mode:
            return Recognized(self._single_line(image), -1)  # no detection, no direction
        if too_thin_to_detect(image):  # one line of text at most: recognise it whole
            return Recognized(self._strip(image), 0 if request.detect_direction else -1)
        self._fit_detection(image)
        words = request.character_mode
        if not request.detect_direction:
            return Recognized(self._lines(self._full(image, words)), -1)
        direction, output = self._detect_then_recognize(image, words)
        if direction != 0:
            output = self._full(upright(image, direction), words)
        return Recognized(self._lines(output), direction)

    def _fit_detection(self, image: Image) -> None:
        """Set the detector's size rule for this page (see DETECTION_MAX_SIDE). A page no
        longer than that keeps RapidOCR's rule (short side scaled up to 736), but scaled up
        no further than DETECTION_MAX_SIDE squared pixels in all: RapidOCR would take a
        1280 x 64 strip to 14720 x 736 and gigabytes of activations."""
        if self._detection_max_side is None:
            return
        detector = self._ocr._load_det_model()
        longest = min(max(image.shape[:2]), PREPROCESS_MAX_SIDE)
        if longest > self._detection_max_side:
            detector.limit_type, detector.limit_side_len = "max", self._detection_max_side
            return
        ratio = max(image.shape[:2]) / max(min(image.shape[:2]), 1)
        short = int(self._detection_max_side / math.sqrt(ratio))
        limit_type, limit_side = RAPIDOCR_DETECTION
        detector.limit_type, detector.limit_side_len = limit_type, max(32, min(limit_side, short))

    def _full(self, image: Image, words: bool) -> Any:
        # RapidOCR keeps every flag passed to a call for the next ones: pass them all.
        return self._ocr(
            image,
            use_det=True,
            use_cls=False,
            use_rec=True,
            return_word_box=words,
            return_single_char_box=words,
        )

    def _detect_then_recognize(self, image: Image, words: bool) -> tuple[int, Any]:
        """Detect once and vote on the direction; if upright, finish recognition on the same
        detection (the output), else return no output (the caller turns the page)."""
        from rapidocr.ch_ppocr_cls import TextClsOutput
        from rapidocr.utils.output import RapidOCROutput

        ocr: Any = self._ocr
        ocr.update_params(return_word_box=words, return_single_char_box=words)
        prepared, record = ocr.preprocess_img(image)
        try:
            crops, detected = ocr.detect_and_crop(prepared, record)
        except Exception:  # RapidOCRError: nothing detected
            return 0, RapidOCROutput()
        classified = ocr._load_cls_model()(crops)
        if detected.boxes is None:
            return 0, RapidOCROutput()
        direction = vote_direction(detected.boxes.tolist(), classified.cls_res)
        if direction != 0:
            return direction, None
        recognized = ocr.recognize_txt(crops)
        return 0, ocr.build_final_output(
            image, detected, TextClsOutput(), recognized, crops, record
        )

    def _strip(self, image: Image) -> list[Line]:
        """A strip read as one line (a tall one turned to lie flat), boxed whole. It goes
        straight to the recognizer (RapidOCR's own preprocessing, long side to 2,000 px,
        would leave it no height at all), in pieces cut at gaps between words: the
        recognizer's cost grows faster than the width of what it reads."""
        height, width = image.shape[:2]
        flat = image if width >= height else np.ascontiguousarray(np.rot90(image, -1))
        pieces, joins = strip_pieces(flat)
        output = self._ocr.recognize_txt(pieces)
        texts = list(getattr(output, "txts", None) or ())
        scores = [float(s) for s in (getattr(output, "scores", None) or ())]
        text = "".join(t + j for t, j in zip(texts, [*joins, ""], strict=False)).strip()
        if not text:
            return []
        whole: Box = ((0.0, 0.0), (float(width), 0.0), (float(width), float(height)),
                      (0.0, float(height)))
        return [Line(" ".join(text.split()), whole, min(scores) if scores else 0.0)]

    def _single_line(self, image: Image) -> list[Line]:
        output = self._ocr(
            image,
            use_det=False,
            use_cls=False,
            use_rec=True,
            return_word_box=False,
            return_single_char_box=False,
        )
        height, width = image.shape[:2]
        whole: Box = ((0.0, 0.0), (float(width), 0.0), (float(width), float(height)),
                      (0.0, float(height)))
        texts = getattr(output, "txts", None) or ()
        scores = getattr(output, "scores", None) or ()
        return [Line(text, whole, float(score)) for text, score in zip(texts, scores,
                                                                        strict=False)
                if text.strip()]

    def _lines(self, output: Any) -> list[Line]:
        boxes, texts, scores = output.boxes, output.txts, output.scores
        if boxes is None or texts is None or scores is None:
            return []
        # word_results holds one tuple per line that has character boxes (RapidOCR drops
        # empty ones): pair them by the line's text.
        words = list(getattr(output, "word_results", ()) or ())
        lines: list[Line] = []
        for box, text, score in zip(boxes.tolist(), texts, scores, strict=True):
            if not text.strip():
                continue
            chars: tuple[Char, ...] = ()
            if words and "".join(w[0] for w in words[0]).replace(" ", "") == text.replace(
                " ", ""
            ):
                chars = tuple(
                    Char(str(c), _box(b), float(s)) for c, s, b in words.pop(0) if str(c).strip()
                )
            lines.append(Line(text, _box(box), float(score), chars))
        return lines


STRIP_PIECE = 60
"""Length of one piece of a strip, in strip heights (~2,900 px once scaled to 48 px)."""


def strip_pieces(flat: Image) -> tuple[list[Image], list[str]]:
    """A flat strip cut into pieces of about STRIP_PIECE heights, each cut in the middle
    of a blank gap at least a third of the height wide (a word break, joined with a
    space) when there is one near, else where the piece ends (joined with nothing)."""
    height, width = flat.shape[:2]
    step = max(STRIP_PIECE * height, 64)
    if width <= step * 1.5:
        return [flat], []
    ink = np.asarray(flat).reshape(height, width, -1).min(axis=2).min(axis=0) < 128
    least_gap = max(2, height // 5)
    pieces, joins, start = [], [], 0
    while width - start > step * 1.5:
        target = start + step
        window = ink[target - step // 4: target + step // 4]
        cut, join = target, ""
        best = -1
        run = 0
        for offset, dark in enumerate(window):
            run = 0 if dark else run + 1
            if run >= least_gap:
                middle = target - step // 4 + offset - run // 2
                if best < 0 or abs(middle - target) < abs(best - target):
                    best = middle
        if best > start:
            cut, join = best, " "
        pieces.append(np.ascontiguousarray(flat[:, start:cut]))
        joins.append(join)
        start = cut
    pieces.append(np.ascontiguousarray(flat[:, start:]))
    return pieces, joins


def too_thin_to_detect(image: Image) -> bool:
    """True for a strip whose short side RapidOCR's resizing would shrink below the
    detector's 32 px step (it then fails: a 4000 x 20 px strip raised ResizeImgError)."""
    height, width = (int(side) for side in image.shape[:2])
    shrink = min(1.0, PREPROCESS_MAX_SIDE / max(height, width))
    return min(height, width) * shrink < 32 and max(height, width) > 4 * min(height, width)


def _box(points: Any) -> Box:
    pts = [(float(x), float(y)) for x, y in points]
    return (pts[0], pts[1], pts[2], pts[3])

