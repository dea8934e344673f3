"""Turn the `image` field into the pixels RapidOCR reads: Base64 -> file bytes -> one RGB page.

Runs in the OCR worker processes (everything here is CPU work). Each rejection is an
`ApiError` with the Huawei code for it:

- not Base64, not an accepted format, corrupt data, encrypted PDF: AIS.0102
- a side outside 15..30000 px, or more than 160 million pixels: AIS.0103
- `pdf_page_number` beyond the document: AIS.0101

Accepted formats are Huawei's list: PNG, JPEG (and MPO, the multi-picture JPEG of phone
cameras), BMP, GIF, TIFF, WEBP, PCX, ICO, PSD, and PDF. Of a multi-frame GIF/TIFF only the
first frame is read. The EXIF orientation is applied, so boxes are in the pixels of the
upright image; transparency is composited onto white; palette, 1-bit, grey, 16-bit and CMYK
images become RGB (RapidOCR finds nothing in a palette PNG handed over as is).
"""

from __future__ import annotations

import binascii
import io
import math
import warnings

import numpy as np
import numpy.typing as npt
import pypdfium2 as pdfium
from PIL import Image, UnidentifiedImageError

from pipeline.protocol.codes import IMAGE_SIZE, INVALID_PARAMETER, UNSUPPORTED_FORMAT
from pipeline.protocol.images import to_rgb as normalise
from pipeline.protocol.limits import MAX_PIXELS, MAX_SIDE, aspect_problem, size_problem

from .apierror import ApiError

PIL_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP", "PCX", "ICO", "PSD")
PDF_DPI = 200.0
"""Resolution PDF pages are rendered at (enough for body text; RapidOCR works on at most
2000 px per side anyway)."""
PDF_MAX_RENDER_PIXELS = 60_000_000
"""Cap on a rendered PDF page (about A0 at 200 dpi): a larger page is rendered at a lower
resolution, well inside the 160 Mpx limit, so a poster-sized page cannot exhaust memory."""

WORK_MAX_PIXELS = 25_000_000
"""A page is recognised at most this large (about A4 at 500 dpi); larger ones are scaled
down on load (the engines gain nothing from more: RapidOCR works at 2000 px)."""
DECODE_BUDGET_BYTES = 256 * 1024 * 1024
"""What decoding one image may take (the raster, plus a conversion before scaling down):
with the engine's own memory a worker stays under 800 MB
(tests/integration/service/test_hardening_memory.py).
A JPEG is decoded at a reduced scale and always fits; a 160 Mpx PNG in colour does not,
and answers AIS.0103 saying so."""
_SENT_SIZE = "ocrpipe.sent_size"
_ORIENTATION = 0x0112
_BYTES_PER_PIXEL = {
    "1": 0.125, "L": 1.0, "P": 1.0, "LA": 2.0, "La": 2.0, "PA": 2.0,
    "I;16": 2.0, "I;16L": 2.0, "I;16B": 2.0, "I;16N": 2.0,
    "RGB": 3.0, "YCbCr": 3.0, "LAB": 3.0, "HSV": 3.0,
    "RGBA": 4.0, "RGBa": 4.0, "RGBX": 4.0, "CMYK": 4.0, "I": 4.0, "F": 4.0,
}
_CONVERT_FIRST = {
    "1": "L", "P": "RGBA", "PA": "RGBA", "I;16": "I", "I;16L": "I", "I;16B": "I", "I;16N": "I",
}
"""Modes that cannot be scaled down as they are, and what they are converted to first."""

_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")
_WIDE_GREY_MODES = ("I", "F", "I;16", "I;16L", "I;16B", "I;16N")


def decode_base64(text: str) -> bytes:
    """Standard Base64 (line breaks allowed); AIS.0102 for anything else."""
    try:
        data = binascii.a2b_base64("".join(text.split()), strict_mode=True)
    except (binascii.Error, ValueError):
        raise ApiError(
            UNSUPPORTED_FORMAT,
            "The image is not valid Base64: send the file's standard Base64 encoding, "
            "without a 'data:' prefix",
        ) from None
    if not data:
        raise ApiError(UNSUPPORTED_FORMAT, "The image is empty")
    return data


def load_page(data: bytes, pdf_page_number: int = 1) -> Image.Image:
    """The page to recognise, as an upright RGB image within the size limits (scaled down
    when over WORK_MAX_PIXELS: see `load_page_sized`)."""
    return load_page_sized(data, pdf_page_number)[0]


def load_page_sized(
    data: bytes, pdf_page_number: int = 1, max_side: int | None = None
) -> tuple[Image.Image, tuple[int, int]]:
    """The page to recognise, as an upright RGB image within the size limits and the
    working size (`work_size`), and the size of the page as sent (boxes found on the
    image are scaled back to it)."""
    if data.lstrip()[:5] == b"%PDF-":
        return render_pdf_page_sized(data, pdf_page_number, max_side)
    image = open_image(data, max_side)
    width, height = image.info[_SENT_SIZE]
    if image.getexif().get(_ORIENTATION, 1) in (5, 6, 7, 8):  # EXIF turns it by 90 degrees
        width, height = height, width
    return to_rgb(image), (width, height)


def work_size(width: int, height: int, max_side: int | None = None) -> tuple[int, int]:
    """The size a page is recognised at: as sent when within WORK_MAX_PIXELS and
    `max_side` (the engine's own working size: it would shrink a larger page itself),
    else scaled down to fit them."""
    scale = min(1.0, math.sqrt(WORK_MAX_PIXELS / max(width * height, 1)))
    if max_side is not None:
        scale = min(scale, max_side / max(width, height, 1))
    if scale >= 1.0:
        return width, height
    return max(1, int(width * scale)), max(1, int(height * scale))


def decode_cost(mode: str, width: int, height: int, shrinking: bool) -> int:
    """Bytes the decoded raster takes, plus the conversion a shrink needs first."""
    pixels = width * height
    cost = pixels * _BYTES_PER_PIXEL.get(mode, 4.0)
    if shrinking and mode in _CONVERT_FIRST:
        cost += pixels * _BYTES_PER_PIXEL[_CONVERT_FIRST[mode]]
    return int(cost)


def shrink(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """`image` scaled down to `size` (itself when it is that size already)."""
    if image.size == size:
        return image
    if image.mode in _CONVERT_FIRST:
        mode = _CONVERT_FIRST[image.mode]
        if image.mode == "P" and "transparency" not in image.info:
            mode = "RGB"
        image = image.convert(mode)
    return image.resize(size, Image.Resampling.BOX, reducing_gap=3.0)


def open_image(data: bytes, max_side: int | None = None) -> Image.Image:
    """Open, check format and size from the header, then decode the first frame within the
    decoding budget (a JPEG at a reduced scale), scaled to the working size.
    `image.info[_SENT_SIZE]` keeps the size as sent (before EXIF orientation)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=PIL_FORMATS)
        except Image.DecompressionBombError:
            raise ApiError(IMAGE_SIZE, f"The image has more than {MAX_PIXELS} pixels") from None
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
            raise ApiError(
                UNSUPPORTED_FORMAT,
                "The image format is not supported: send PNG, JPG, BMP, GIF, TIFF, WEBP, "
                "PCX, ICO, PSD or PDF",
            ) from None
        sent = image.size
        check_size(*sent)
        target = work_size(*sent, max_side)
        if image.format in ("JPEG", "MPO") and target != sent:
            image.draft(None, target)  # decoded at 1/2, 1/4 or 1/8 scale, still >= target
        shrinking = image.size != target
        cost = decode_cost(image.mode, *image.size, shrinking)
        if cost > DECODE_BUDGET_BYTES:
            raise ApiError(
                IMAGE_SIZE,
                f"The image is {sent[0]}x{sent[1]} px in mode {image.mode}: decoding it needs "
                f"{cost >> 20} MB, more than this service's {DECODE_BUDGET_BYTES >> 20} MB; "
                "send it smaller (the text stays readable at 300 dpi) or as a JPEG",
            )
        try:
            image.load()
            shrunk = shrink(image, target)
        except Exception:  # Pillow raises many kinds for damaged data
            raise ApiError(UNSUPPORTED_FORMAT, "The image data is corrupt or truncated") from None
    shrunk.info[_SENT_SIZE] = sent
    return shrunk


def check_size(width: int, height: int) -> None:
    """AIS.0103 unless each side is within 15..30000 px, the area within 160 Mpx and the
    longer side at most MAX_ASPECT_RATIO times the shorter."""
    problem = size_problem(width, height) or aspect_problem(width, height)
    if problem:
        raise ApiError(IMAGE_SIZE, problem)


def to_rgb(image: Image.Image) -> Image.Image:
    """Upright (EXIF), alpha composited onto white, 8-bit RGB (`pipeline.protocol.images`)."""
    try:
        return normalise(image)
    except (ValueError, OSError):
        raise ApiError(
            UNSUPPORTED_FORMAT, f"The image's colour mode {image.mode} is not supported"
        ) from None


def to_bgr_array(image: Image.Image) -> npt.NDArray[np.uint8]:
    """The HxWx3 BGR uint8 array RapidOCR takes as is (it treats 3-channel arrays as BGR)."""
    rgb = np.asarray(image.convert("RGB"), dtype=np.uint8)
    return np.ascontiguousarray(rgb[:, :, ::-1])


def render_pdf_page(data: bytes, page_number: int) -> Image.Image:
    """Page `page_number` (1-based) at PDF_DPI (capped: see `render_pdf_page_sized`)."""
    return render_pdf_page_sized(data, page_number)[0]


def render_pdf_page_sized(
    data: bytes, page_number: int, max_side: int | None = None
) -> tuple[Image.Image, tuple[int, int]]:
    """Page `page_number` (1-based) and its size at PDF_DPI (capped at
    PDF_MAX_RENDER_PIXELS): the size its boxes are given in. It is rendered at that size
    when within the working size (`work_size`), else straight at the working size."""
    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        reason = "is encrypted" if "password" in str(exc).lower() else "cannot be read"
        raise ApiError(UNSUPPORTED_FORMAT, f"The PDF {reason}") from None
    try:
        count = len(document)
        if not 1 <= page_number <= count:
            raise ApiError(
                INVALID_PARAMETER,
                f"pdf_page_number {page_number} is out of range: the PDF has {count} page(s)",
            )
        page = document[page_number - 1]
        try:
            width_pt, height_pt = page.get_size()
            scale = render_scale(width_pt, height_pt)
            nominal = (round(width_pt * scale), round(height_pt * scale))
            check_size(*nominal)
            work = work_size(*nominal, max_side)
            scale *= min(1.0, work[0] / nominal[0], work[1] / nominal[1])
            try:
                bitmap = page.render(scale=scale)
                image: Image.Image = bitmap.to_pil().convert("RGB")
                bitmap.close()
            except pdfium.PdfiumError:
                raise ApiError(UNSUPPORTED_FORMAT, "The PDF page cannot be rendered") from None
        finally:
            page.close()
    finally:
        document.close()
    return image, nominal


def render_scale(width_pt: float, height_pt: float) -> float:
    """Pixels per PDF point: PDF_DPI, lowered so the page fits the pixel and side caps."""
    scale = PDF_DPI / 72.0
    area = max(width_pt * height_pt, 1e-6)
    scale = min(scale, math.sqrt(PDF_MAX_RENDER_PIXELS / area))
    return min(scale, (MAX_SIDE - 1) / max(width_pt, height_pt, 1e-6))
