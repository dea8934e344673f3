"""Documents to page images, one page at a time.

`inspect_document` tells what a file is (sniffed from its first bytes, never from its
name) and how many pages it has; `render_page` turns one page into a Pillow image. Both
run in worker processes, one call per page, and open the file afresh on every call: no
PDF handle outlives a call, so nothing is shared between pages, threads or processes.

PDF pages are rasterised by PDFium (pypdfium2, the default: see benchmarks/rasterizers.py,
about 3x faster than poppler here) or by poppler's pdftoppm (pdf2image). The resolution
is capped per page so that a page stays within a pixel budget: a 35000 px poster page is
rendered at a lower DPI instead of exhausting memory. TIFF frames and single images are
decoded with Pillow, EXIF orientation applied. A PDF page that is only grey or
bilevel images is rendered in grey (`pdf_content.grey_scan`); any other page in colour.

Third-party errors (PDFium, poppler, Pillow) are translated here into `DocumentError`
subclasses whose message tells the user what is wrong and what to do.
"""

from __future__ import annotations

import math
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal, cast

import pypdfium2 as pdfium
from pdf2image import convert_from_path
from pdf2image import exceptions as poppler_errors
from PIL import (
    BmpImagePlugin,
    GifImagePlugin,
    Image,
    ImageFile,
    ImageOps,
    JpegImagePlugin,
    PngImagePlugin,
    TiffImagePlugin,
    WebPImagePlugin,
)

from pipeline.empty_pdf import has_no_pages
from pipeline.errors import (
    ConfigError,
    CorruptDocument,
    DocumentError,
    EmptyDocument,
    EncryptedDocument,
    PageSizeError,
    UnsupportedDocument,
)
from pipeline.pdf_content import grey_scan, sole_jpeg

SUPPORTED = "PDF, TIFF, PNG, JPEG, BMP, GIF, WEBP"
RASTERIZERS = ("pypdfium2", "pdf2image")
RENDER_MAX_SIDE = 10_000
"""Longest side of a rendered PDF page, in pixels; the DPI is lowered to stay within it."""
RENDER_MAX_PIXELS = 40_000_000
"""Pixels of a rendered PDF page (40 Mpx = 120 MB as RGB); the DPI is lowered likewise."""
MAX_DECODE_PIXELS = 160_000_000
"""A raster image above this (the OCR API's own limit) is refused, except a JPEG, which
is decoded at a reduced size (`Image.draft`) to fit the render budget."""
POPPLER_TIMEOUT_S = 120

Kind = Literal["pdf", "tiff", "image"]

# PDFium is not thread-safe: calls are serialised within a process (workers are
# processes, so this lock is uncontended there; it only matters if a caller uses threads).
_PDFIUM_LOCK = threading.Lock()

_IMAGE_CLASSES: dict[str, type[ImageFile.ImageFile]] = {
    "TIFF": TiffImagePlugin.TiffImageFile,
    "PNG": PngImagePlugin.PngImageFile,
    "JPEG": JpegImagePlugin.JpegImageFile,
    "BMP": BmpImagePlugin.BmpImageFile,
    "GIF": GifImagePlugin.GifImageFile,
    "WEBP": WebPImagePlugin.WebPImageFile,
}

_BMP_HEADER_SIZES = tuple(bytes([n]) for n in (12, 40, 52, 56, 64, 108, 124))

# PDFium's FPDF_GetLastError codes for a failed FPDF_LoadDocument.
_PDFIUM_FORMAT, _PDFIUM_PASSWORD, _PDFIUM_SECURITY = 3, 4, 5


@dataclass(frozen=True)
class DocumentInfo:
    kind: Kind
    page_count: int


def sniff_format(path: str) -> str:
    """The file's format from its magic number: 'PDF', 'TIFF', 'PNG', 'JPEG', 'BMP', 'GIF'
    or 'WEBP'. Raises EmptyDocument or UnsupportedDocument."""
    try:
        with open(path, "rb") as file:
            head = file.read(1024)
    except OSError as exc:
        raise DocumentError(f"the file cannot be read ({exc.strerror or exc})") from None
    if not head:
        raise EmptyDocument("the file is empty (0 bytes)")
    if b"%PDF-" in head:  # PDF readers accept the header anywhere in the first 1 KB
        return "PDF"
    signatures = (
        ((b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"), "TIFF"),
        ((b"\x89PNG\r\n\x1a\n",), "PNG"),
        ((b"\xff\xd8\xff",), "JPEG"),
        ((b"GIF87a", b"GIF89a"), "GIF"),
    )
    for magics, name in signatures:
        if head.startswith(magics):
            return name
    # "BM" alone would match a text file about BMWs: check the DIB header size too.
    if head[:2] == b"BM" and head[14:15] in _BMP_HEADER_SIZES and head[15:18] == b"\0\0\0":
        return "BMP"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    raise UnsupportedDocument(
        f"not an image or PDF ({_describe(head)}); ocrpipe reads {SUPPORTED}"
    )


def _describe(head: bytes) -> str:
    if head.startswith(b"PK\x03\x04"):
        return "it is a ZIP archive, e.g. a Word, Excel or OpenDocument file"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "it is an old-style Office document"
    if head[4:8] == b"ftyp":
        return "it is an HEIC/HEIF photo or a video: convert it to JPEG"
    texty = sum(1 for b in head if b in (9, 10, 13) or 32 <= b < 127 or b >= 128)
    if b"\x00" not in head and texty >= 0.95 * len(head):
        return "the file starts with text"
    return "the file starts with bytes " + head[:4].hex(" ").upper()


def inspect_document(path: str, *, password: str | None = None) -> DocumentInfo:
    """What the document is and how many pages it has (cheap: no page is rendered)."""
    fmt = sniff_format(path)
    if fmt == "PDF":
        with _PDFIUM_LOCK:
            pdf = _open_pdf(path, password)
            try:
                count = len(pdf)
            finally:
                pdf.close()
        if count == 0:
            raise EmptyDocument("the PDF has no pages: there is nothing to recognise")
        return DocumentInfo("pdf", count)
    if fmt != "TIFF":
        _open_image(path, fmt).close()  # the header must at least parse
        return DocumentInfo("image", 1)
    with _open_image(path, fmt) as image:
        try:
            frames = int(getattr(image, "n_frames", 1))
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise CorruptDocument(
                f"the TIFF file is damaged: its pages cannot be counted ({exc})"
            ) from None
    return DocumentInfo("tiff", frames)


def render_page(
    path: str,
    index: int,
    *,
    dpi: int = 200,
    rasterizer: str = "pypdfium2",
    password: str | None = None,
    max_side: int = RENDER_MAX_SIDE,
    max_pixels: int = RENDER_MAX_PIXELS,
) -> tuple[Image.Image, float | None]:
    """Page `index` (0-based) as an image, and its resolution in DPI (None if unknown).

    PDF pages are rendered at `dpi`, lowered where needed to keep within `max_side` and
    `max_pixels`; /Rotate is honoured. Images are decoded as they are (a JPEG larger than
    the budget is decoded at a reduced scale), EXIF orientation applied.
    """
    fmt = sniff_format(path)
    if fmt == "PDF":
        if rasterizer not in RASTERIZERS:
            raise ConfigError(f"unknown rasterizer {rasterizer!r}: use one of {RASTERIZERS}")
        if rasterizer == "pdf2image":
            return _render_poppler(path, index, dpi, password, max_side, max_pixels)
        return _render_pdfium(path, index, dpi, password, max_side, max_pixels)
    return _decode_image(path, fmt, index, max_side, max_pixels)


def capped_scale(
    width_pt: float, height_pt: float, dpi: float, max_side: int, max_pixels: int
) -> float:
    """Pixels per PDF point: `dpi / 72`, lowered so the page fits the pixel budget."""
    width_pt, height_pt = max(width_pt, 1e-3), max(height_pt, 1e-3)
    scale = min(
        dpi / 72,
        max_side / max(width_pt, height_pt),
        math.sqrt(max_pixels / (width_pt * height_pt)),
    )

    def oversize(scale: float) -> bool:  # renderers round the pixel size up
        width, height = math.ceil(width_pt * scale), math.ceil(height_pt * scale)
        return max(width, height) > max_side or width * height > max_pixels

    while oversize(scale):
        scale *= 0.999
    return scale


def _open_pdf(path: str, password: str | None) -> pdfium.PdfDocument:
    """Open with PDFium (caller holds _PDFIUM_LOCK), translating its load errors."""
    try:
        return pdfium.PdfDocument(path, password=password)
    except pdfium.PdfiumError as exc:
        code = getattr(exc, "err_code", None)
        if has_no_pages(path):
            raise EmptyDocument("the PDF has no pages: there is nothing to recognise") from None
        if code == _PDFIUM_PASSWORD:
            if password:
                raise EncryptedDocument(
                    "the PDF is encrypted and the password given does not open it: "
                    "check pdf_password in the job's [source] section"
                ) from None
            raise EncryptedDocument(
                "the PDF is encrypted and needs a password to open: supply it "
                "(pdf_password in the job's [source] section)"
            ) from None
        if code == _PDFIUM_SECURITY:
            raise EncryptedDocument(
                "the PDF uses an unsupported encryption scheme: save an unencrypted copy"
            ) from None
        raise CorruptDocument(
            "the PDF is damaged or not a valid PDF and cannot be opened: "
            "re-export or re-scan it"
        ) from None


def _check_index(index: int, count: int) -> None:
    if not 0 <= index < count:
        raise IndexError(f"page index {index} out of range: the document has {count} pages")


@contextmanager
def _pdf_page(
    path: str, index: int, password: str | None, *, forms: bool = False
) -> Iterator[pdfium.PdfPage]:
    """One page of a PDF, opened (and closed) under the PDFium lock."""
    with _PDFIUM_LOCK:
        pdf = _open_pdf(path, password)
        try:
            _check_index(index, len(pdf))
            if forms:
                pdf.init_forms()  # filled-in form fields are part of the page
            page = pdf[index]
            try:
                yield page
            finally:
                page.close()
        finally:
            pdf.close()


def _render_pdfium(
    path: str, index: int, dpi: int, password: str | None, max_side: int, max_pixels: int
) -> tuple[Image.Image, float]:
    with _pdf_page(path, index, password, forms=True) as page:
        width_pt, height_pt = page.get_size()
        scale = capped_scale(width_pt, height_pt, dpi, max_side, max_pixels)
        try:
            bitmap = page.render(scale=scale, rev_byteorder=True, grayscale=grey_scan(page))
            image = bitmap.to_pil()  # RGB or L: Pillow copies out of PDFium's buffer
            bitmap.close()
        except pdfium.PdfiumError:
            raise CorruptDocument(
                f"page {index + 1} of the PDF cannot be rendered: it is damaged"
            ) from None
    return image, scale * 72


def _render_poppler(
    path: str, index: int, dpi: int, password: str | None, max_side: int, max_pixels: int
) -> tuple[Image.Image, float]:
    # Page geometry from PDFium (a few ms); pdftoppm is told the exact pixel size so both
    # rasterizers give the same image size. pdftoppm scales the unrotated page.
    with _pdf_page(path, index, password) as page:
        width_pt, height_pt = page.get_size()
        rotated = page.get_rotation() in (90, 270)
    scale = capped_scale(width_pt, height_pt, dpi, max_side, max_pixels)
    width, height = math.ceil(width_pt * scale), math.ceil(height_pt * scale)
    pdf_password = cast(str, password)  # pdf2image's hints say str; None means "no password"
    try:
        images = convert_from_path(
            path, dpi=max(1, round(scale * 72)), first_page=index + 1, last_page=index + 1,
            use_cropbox=True, size=(height, width) if rotated else (width, height),
            userpw=pdf_password, ownerpw=pdf_password, timeout=POPPLER_TIMEOUT_S,
        )
    except (poppler_errors.PDFInfoNotInstalledError, FileNotFoundError):
        raise ConfigError(
            "rasterizer pdf2image needs poppler's pdftoppm and pdfinfo: install "
            "poppler-utils (apt-get install poppler-utils) or use rasterizer = \"pypdfium2\""
        ) from None
    except poppler_errors.PDFPopplerTimeoutError:
        raise CorruptDocument(
            f"page {index + 1} took over {POPPLER_TIMEOUT_S} s to render: it may be "
            "damaged; try rasterizer = \"pypdfium2\""
        ) from None
    except poppler_errors.PDFPageCountError:
        raise CorruptDocument("poppler cannot read the PDF: it is damaged") from None
    if not images:
        raise CorruptDocument(f"page {index + 1} of the PDF cannot be rendered: it is damaged")
    return images[0], scale * 72


def _open_image(path: str, fmt: str) -> ImageFile.ImageFile:
    """Parse the header only. Pillow's plugin class is used directly so that we, not
    Pillow's decompression-bomb guard, decide what is too large (and can say so)."""
    try:
        return _IMAGE_CLASSES[fmt](path)
    except (OSError, SyntaxError, ValueError, EOFError, IndexError) as exc:
        raise CorruptDocument(
            f"the {fmt} image is damaged and cannot be read ({exc}): re-scan or re-export it"
        ) from None


def _decode_image(
    path: str, fmt: str, index: int, max_side: int, max_pixels: int
) -> tuple[Image.Image, float | None]:
    with _open_image(path, fmt) as image:
        if fmt == "TIFF":
            _check_index(index, getattr(image, "n_frames", 1))
        elif index != 0:
            _check_index(index, 1)
        try:
            image.seek(index)
            width, height = image.size
            if fmt == "JPEG" and (max(width, height) > max_side or width * height > max_pixels):
                scale = min(max_side / max(width, height), math.sqrt(max_pixels / (width * height)))
                image.draft(image.mode, (math.ceil(width * scale), math.ceil(height * scale)))
            if image.width * image.height > MAX_DECODE_PIXELS:
                raise PageSizeError(
                    f"image is {width} x {height} = {width * height / 1e6:.0f} Mpx; the OCR "
                    f"API accepts at most {MAX_DECODE_PIXELS // 1_000_000} Mpx: split or "
                    "downscale it"
                )
            with warnings.catch_warnings():  # size already checked above
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                image.load()
                page = ImageOps.exif_transpose(image)  # a new image, detached from the file
        except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as exc:
            raise CorruptDocument(
                f"the {fmt} image is damaged and cannot be decoded ({exc}): "
                "re-scan or re-export it"
            ) from None
        dpi = plausible_dpi(image.info.get("dpi"))
        if dpi is not None:
            dpi *= image.width / width  # decoded at a reduced size by draft()
    return page, dpi


def plausible_dpi(value: object) -> float | None:
    """The image's own DPI, unless it is missing or nonsense (1 dpi, 30000 dpi)."""
    if isinstance(value, tuple) and value:
        x = float(value[0])
        if 50 <= x <= 4800:
            return x
    return None


def embedded_jpeg(
    path: str, index: int, *, password: str | None = None
) -> tuple[bytes, float] | None:
    """The JPEG bytes of a scanned PDF page, when the page is exactly one upright JPEG
    covering it (no text, no vector art, no /Rotate, no flip or skew), and its DPI.

    Sending those bytes as they are skips a render and a re-encode, and a second
    generation of JPEG loss. Anything else returns None: render the page.
    """
    with _pdf_page(path, index, password) as page:
        return sole_jpeg(page)
