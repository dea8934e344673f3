"""Searchable PDF: the original pages, with an invisible text layer on top.

PDF inputs keep their pages as they are (content, fonts, images, annotations): each
page gets one more content stream, `q ... Q`-isolated from the original, in which every
OCR block is drawn in text render mode 3 (invisible) with the glyph-less font of
`pdf_font`. Image inputs become one page per image (or TIFF frame) showing the image at
its own resolution: a JPEG is embedded as it is (DCTDecode, no recompression; an EXIF
rotation becomes the page's /Rotate), other images are stored losslessly (Flate).

Each block's text is set on its box: the box corners are mapped from the pixels of the
image sent to OCR to the page's default user space (through the crop box and /Rotate,
since the renderer drew the page as displayed), the baseline runs along the box's top
and bottom edges (so a skewed box gives skewed text), the font size is the box height
and the text is stretched to the box width. `pdftotext -bbox-layout` then finds each
line within its box.

Images without a usable resolution are placed at DEFAULT_IMAGE_DPI.

PDF/A is not offered. An arbitrary input PDF becomes PDF/A-2b only after its content is
normalised (every font embedded, colour spaces tied to an output intent, transparency,
actions and encryption dealt with): OCRmyPDF has Ghostscript's pdfwrite do it, and no
library from the package registries does. Nor is there a validator there: veraPDF, the
reference, is a Java application in neither Debian nor PyPI, and an unvalidated PDF/A
claim is worse than none. For image inputs, where this module writes every object, it
is feasible (sRGB output intent, XMP with pdfaid, CIDSet) once a validator is at hand.
"""

from __future__ import annotations

import io
import math
import zlib
from collections.abc import Callable, Iterable
from typing import BinaryIO

import pikepdf
from PIL import Image, JpegImagePlugin, TiffImagePlugin

from pipeline.errors import CorruptDocument, DocumentError, EncryptedDocument
from pipeline.models import Block, DocumentResult, PageResult
from pipeline.protocol.images import flatten
from pipeline.render import plausible_dpi, render_page, sniff_format
from pipeline.upright import quarter_turns, reading_order
from pipeline.writers.options import WriteOptions
from pipeline.writers.pdf_font import ASCENT, UNITS_PER_EM, TextFont
from pipeline.writers.text_layer import existing_text, remove_invisible_text

DEFAULT_IMAGE_DPI = 300.0
"""Scans are usually 300 dpi: an A4 scan without resolution metadata stays A4."""

_EXIF_ORIENTATION = 0x0112
_EXIF_ROTATE = {1: 0, 3: 180, 6: 90, 8: 270}
"""EXIF orientations that are pure rotations, as the clockwise /Rotate that shows them."""

ToUser = Callable[[float, float], tuple[float, float]]


def write_pdf(
    doc: DocumentResult, source_path: str | None, options: WriteOptions, out: BinaryIO
) -> None:
    """The searchable PDF of `doc`, built on the original document at `source_path`,
    written to `out` (pikepdf reads the original's pages as it writes them: the whole PDF
    is never in memory)."""
    if source_path is None:
        raise DocumentError(
            "the searchable PDF is built on the original document: give its path "
            "(ocrpipe export ... --source ORIGINAL)"
        )
    try:
        _searchable_pdf(doc, source_path, options, out)
    except pikepdf.PdfError as exc:
        raise CorruptDocument(f"the searchable PDF cannot be written: {exc}") from None


def _searchable_pdf(
    doc: DocumentResult, source_path: str, options: WriteOptions, out: BinaryIO
) -> None:
    font = TextFont([" ", *(block.text.strip() for page in doc.pages
                             for block in page.result.blocks)])  # " ": between blocks
    if sniff_format(source_path) == "PDF":
        pdf = _open_pdf(source_path, options.pdf_password)
    else:
        pdf = _image_pdf(source_path, doc.pages)
    with pdf:
        font_ref = font.pdf_object(pdf)
        for page_result in doc.pages:
            if page_result.index >= len(pdf.pages):
                raise DocumentError(
                    f"the result has page {page_result.index + 1} but the document has "
                    f"{len(pdf.pages)}: is it the right original?"
                )
            page = pdf.pages[page_result.index]
            if prepare_for_layer(page):  # a page that keeps its own text gets no second
                _add_text_layer(pdf, page, page_result, font, font_ref)
            _turn_upright(page, page_result)
        pdf.save(out, object_stream_mode=pikepdf.ObjectStreamMode.generate,
                 deterministic_id=True)


def _open_pdf(path: str, password: str | None) -> pikepdf.Pdf:
    try:
        return pikepdf.open(path, password=password or "")
    except pikepdf.PasswordError:
        raise EncryptedDocument(
            "the PDF is encrypted: supply its password (pdf_password in [source])"
        ) from None
    except pikepdf.PdfError as exc:
        raise CorruptDocument(f"the PDF cannot be read to add the text layer: {exc}") from None


def prepare_for_layer(page: pikepdf.Page) -> bool:
    """False for a page with visible text (it keeps its own text layer); else True,
    with an earlier invisible OCR layer removed (text_layer.py)."""
    kind = existing_text(page)
    if kind == "invisible":
        remove_invisible_text(page)
    return kind != "visible"


# --- image inputs -------------------------------------------------------------------


def _image_pdf(path: str, pages: Iterable[PageResult]) -> pikepdf.Pdf:
    """One page per recognised frame, each showing the image at its own resolution."""
    pdf = pikepdf.new()
    frames = max((p.index for p in pages), default=0) + 1
    jpeg = sniff_format(path) == "JPEG"
    for index in range(frames):
        embedded = _jpeg_page(pdf, path) if jpeg and index == 0 else None
        if embedded is None:
            image, dpi = render_page(path, index)
            embedded = _decoded_page(pdf, image, dpi)
        image_obj, (width, height), dpi, rotate = embedded
        w_pt, h_pt = width * 72 / dpi, height * 72 / dpi
        content = f"q {_num(w_pt)} 0 0 {_num(h_pt)} 0 0 cm /Im0 Do Q\n".encode()
        page = pikepdf.Dictionary(
            Type=pikepdf.Name.Page, MediaBox=[0, 0, _round(w_pt), _round(h_pt)],
            Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image_obj)),
            Contents=pdf.make_stream(content),
        )
        if rotate:
            page.Rotate = rotate
        pdf.pages.append(pikepdf.Page(page))
    return pdf


Embedded = tuple[pikepdf.Object, tuple[int, int], float, int]


def _jpeg_page(pdf: pikepdf.Pdf, path: str) -> Embedded | None:
    """The JPEG file's own bytes as a DCTDecode image; None if it needs decoding (CMYK,
    a mirroring EXIF orientation)."""
    try:
        with JpegImagePlugin.JpegImageFile(path) as image:
            orientation = image.getexif().get(_EXIF_ORIENTATION, 1)
            if image.mode not in ("L", "RGB") or orientation not in _EXIF_ROTATE:
                return None
            size, dpi = image.size, plausible_dpi(image.info.get("dpi"))
    except (OSError, SyntaxError, ValueError):
        return None
    with open(path, "rb") as file:
        data = file.read()
    image_obj = pdf.make_indirect(pikepdf.Stream(
        pdf, data, Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image,
        Width=size[0], Height=size[1], BitsPerComponent=8, Filter=pikepdf.Name.DCTDecode,
        ColorSpace=pikepdf.Name.DeviceGray if image.mode == "L" else pikepdf.Name.DeviceRGB,
    ))
    return image_obj, size, dpi or DEFAULT_IMAGE_DPI, _EXIF_ROTATE[orientation]


def _decoded_page(pdf: pikepdf.Pdf, image: Image.Image, dpi: float | None) -> Embedded:
    """A decoded (EXIF-transposed) image, stored losslessly: black-and-white pages as
    1-bit CCITT G4 (as fax and scanner TIFFs are), grey and colour as Flate."""
    flat = _black_and_white(flatten(image))
    common = dict(Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image, Width=flat.width,
                  Height=flat.height)
    g4 = _ccitt_g4(flat) if flat.mode == "1" else None
    if g4 is not None:
        stream = pikepdf.Stream(
            pdf, g4, **common, BitsPerComponent=1, ColorSpace=pikepdf.Name.DeviceGray,
            Filter=pikepdf.Name.CCITTFaxDecode,
            DecodeParms=pikepdf.Dictionary(K=-1, Columns=flat.width, Rows=flat.height,
                                           BlackIs1=True),
        )
    else:
        stream = pikepdf.Stream(
            pdf, zlib.compress(flat.tobytes(), 9), **common,
            BitsPerComponent=1 if flat.mode == "1" else 8,
            ColorSpace=pikepdf.Name.DeviceRGB if flat.mode == "RGB" else pikepdf.Name.DeviceGray,
            Filter=pikepdf.Name.FlateDecode,
        )
    return pdf.make_indirect(stream), flat.size, dpi or DEFAULT_IMAGE_DPI, 0


def _black_and_white(image: Image.Image) -> Image.Image:
    """A page of pure black and pure white only (a bitonal scan stored as grey, palette
    or RGB) as mode '1', which loses nothing; any other image as it is."""
    if image.mode == "1":
        return image
    colours = image.getcolors(2)
    if colours is None or any(c not in (0, 255, (0, 0, 0), (255, 255, 255)) for _, c in colours):
        return image
    return image.convert("L").point(lambda v: 255 if v >= 128 else 0, mode="1")


def _ccitt_g4(image: Image.Image) -> bytes | None:
    """The 1-bit image as one CCITT G4 strip (Pillow's libtiff encoder), or None."""
    buffer = io.BytesIO()
    try:
        image.save(buffer, "TIFF", compression="group4", strip_size=2**31 - 1)
        with TiffImagePlugin.TiffImageFile(io.BytesIO(buffer.getvalue())) as tiff:
            offsets, counts = tiff.tag_v2.get(273), tiff.tag_v2.get(279)
    except (OSError, ValueError, TypeError):
        return None
    if not offsets or not counts or len(offsets) != 1:
        return None
    return buffer.getvalue()[offsets[0] : offsets[0] + counts[0]]


# --- the text layer -----------------------------------------------------------------


def _add_text_layer(
    pdf: pikepdf.Pdf, page: pikepdf.Page, result: PageResult, font: TextFont,
    font_ref: pikepdf.Object,
) -> None:
    sent_w, sent_h = _sent_size(result)
    to_user = page_mapping(_box(page), _rotation(page), sent_w, sent_h)
    ops = [
        op for line in reading_order(result.result)  # the upright page's reading order
        for number, (block, fill) in enumerate(line)
        if (op := _block_op(block, to_user, font, space_after=number < len(line) - 1,
                            fill=fill)) is not None
    ]
    if not ops:
        return
    name = page.add_resource(font_ref, pikepdf.Name.Font, prefix="OCR")
    layer = b"Q\nBT 3 Tr " + str(name).encode() + b" 1 Tf\n" + b"".join(ops) + b"ET\n"
    page.contents_add(pdf.make_stream(b"q\n"), prepend=True)
    page.contents_add(pikepdf.Stream(pdf, zlib.compress(layer, 9),
                                     Filter=pikepdf.Name.FlateDecode), prepend=False)


def _sent_size(result: PageResult) -> tuple[int, int]:
    if result.geometry is not None:
        return result.geometry.image_width, result.geometry.image_height
    return result.result.width, result.result.height


def _inherited(page: pikepdf.Page, key: str) -> pikepdf.Object | None:
    node: pikepdf.Object | None = page.obj
    for _ in range(64):  # page tree depth; guards against a /Parent loop
        if node is None:
            return None
        if key in node:
            return node[key]
        node = node.get("/Parent")
    return None


def _box(page: pikepdf.Page) -> tuple[float, float, float, float]:
    """The visible box (crop box within the media box), as PDFium renders it."""
    media = _rect(_inherited(page, "/MediaBox")) or (0.0, 0.0, 612.0, 792.0)
    crop = _rect(_inherited(page, "/CropBox")) or media
    box = (max(crop[0], media[0]), max(crop[1], media[1]),
           min(crop[2], media[2]), min(crop[3], media[3]))
    return box if box[2] > box[0] and box[3] > box[1] else media


def _rect(value: pikepdf.Object | None) -> tuple[float, float, float, float] | None:
    if not isinstance(value, pikepdf.Array) or len(value) != 4:
        return None
    x0, y0, x1, y1 = (float(v) for v in value)
    return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)


def _turn_upright(page: pikepdf.Page, result: PageResult) -> None:
    """A page the service found turned (`detect_direction`) is shown upright: its
    /Rotate turned on by the direction, so viewers and text extractors read it as a
    person would (OCRmyPDF's --rotate-pages). Called once the text layer is placed in
    the page's old frame."""
    turn = quarter_turns(result.result.direction)
    if turn:
        page.obj.Rotate = (_rotation(page) + turn) % 360


def _rotation(page: pikepdf.Page) -> int:
    value = _inherited(page, "/Rotate")
    try:
        return int(value) % 360 if value is not None else 0
    except (TypeError, ValueError):
        return 0


def page_mapping(
    box: tuple[float, float, float, float], rotate: int, sent_w: int, sent_h: int
) -> ToUser:
    """Pixels of the image sent (origin top-left, the page as displayed) to default user
    space of the page (origin bottom-left, before /Rotate)."""
    x0, y0, x1, y1 = box
    width, height = x1 - x0, y1 - y0
    shown_w, shown_h = (height, width) if rotate in (90, 270) else (width, height)

    def to_user(px: float, py: float) -> tuple[float, float]:
        x, y = px * shown_w / sent_w, py * shown_h / sent_h  # points, from the top-left
        if rotate == 90:
            return x0 + y, y0 + x
        if rotate == 180:
            return x1 - x, y0 + y
        if rotate == 270:
            return x1 - y, y1 - x
        return x0 + x, y1 - y

    return to_user


def _block_op(
    block: Block, to_user: ToUser, font: TextFont, *, space_after: bool = False,
    fill: float = 1.0,
) -> bytes | None:
    """`Tm ... Tj` that sets the block's text on its box, or None for an empty block.
    `space_after`: another block follows on the line; a space after the text (past the
    box's right edge) keeps the two apart as words for text extractors that read it, and
    `fill` < 1 sets the text on that share of the box's width, leaving a gap for those
    that judge word breaks by distance (poppler)."""
    text = block.text.strip()
    code, natural = font.encode(text + (" " if space_after and text else "")), font.width(text)
    if not code or natural <= 0:
        return None
    p0, p1, p2, p3 = (to_user(x, y) for x, y in block.box)
    ux, uy = ((p1[0] - p0[0]) + (p2[0] - p3[0])) / 2, ((p1[1] - p0[1]) + (p2[1] - p3[1])) / 2
    width = math.hypot(ux, uy)
    if width < 1e-3:
        return None
    ux, uy = ux / width, uy / width
    nx, ny = -uy, ux  # unit normal, pointing up from the baseline
    vx, vy = ((p0[0] - p3[0]) + (p1[0] - p2[0])) / 2, ((p0[1] - p3[1]) + (p1[1] - p2[1])) / 2
    height = abs(vx * nx + vy * ny)
    if height < 1e-3:
        return None
    stretch = width * fill / natural
    drop = height * ASCENT / UNITS_PER_EM  # top edge to baseline
    ox, oy = p0[0] - nx * drop, p0[1] - ny * drop
    matrix = (ux * stretch, uy * stretch, nx * height, ny * height, ox, oy)
    return (" ".join(_num(v) for v in matrix) + " Tm <" + code.hex() + "> Tj\n").encode()


def _num(value: float) -> str:
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _round(value: float) -> float:
    return round(value, 4)
