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
from pipeline.protocol.limits import MAX_PIXELS, MAX_SIDE, size_problem

from .apierror import ApiError

PIL_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP", "PCX", "ICO", "PSD")
PDF_DPI = 200.0
"""Resolution PDF pages are rendered at (enough for body text; RapidOCR works on at most
2000 px per side anyway)."""
PDF_MAX_RENDER_PIXELS = 60_000_000
"""Cap on a rendered PDF page (about A0 at 200 dpi): a larger page is rendered at a lower
resolution, well inside the 160 Mpx limit, so a poster-sized page cannot exhaust memory."""


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
    """The page to recognise, as an upright RGB image within the size limits."""
    if data.lstrip()[:5] == b"%PDF-":
        return render_pdf_page(data, pdf_page_number)
    return to_rgb(open_image(data))


def open_image(data: bytes) -> Image.Image:
    """Open, check format and size from the header, then decode the first frame."""
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
        check_size(*image.size)
        try:
            image.load()
        except Exception:  # Pillow raises many kinds for damaged data
            raise ApiError(UNSUPPORTED_FORMAT, "The image data is corrupt or truncated") from None
    return image


def check_size(width: int, height: int) -> None:
    """AIS.0103 unless each side is within 15..30000 px and the area within 160 Mpx."""
    problem = size_problem(width, height)
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
    """Render page `page_number` (1-based) at PDF_DPI, capped at PDF_MAX_RENDER_PIXELS."""
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
            check_size(round(width_pt * scale), round(height_pt * scale))
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
    check_size(*image.size)
    return image


def render_scale(width_pt: float, height_pt: float) -> float:
    """Pixels per PDF point: PDF_DPI, lowered so the page fits the pixel and side caps."""
    scale = PDF_DPI / 72.0
    area = max(width_pt * height_pt, 1e-6)
    scale = min(scale, math.sqrt(PDF_MAX_RENDER_PIXELS / area))
    return min(scale, (MAX_SIDE - 1) / max(width_pt, height_pt, 1e-6))
