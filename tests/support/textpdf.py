"""PDFs with a text layer, written with pikepdf content streams (no reportlab): born-digital
pages, scans with an invisible OCR layer, and layers that are garbage."""

from __future__ import annotations

import zlib
from pathlib import Path

import pikepdf
from PIL import Image

PAGE = (612, 792)
"""US Letter in points."""
TOP, LEADING, LEFT = 720, 18, 72


def _escape(data: bytes) -> bytes:
    return data.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def _helvetica(pdf: pikepdf.Pdf) -> pikepdf.Object:
    return pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
        BaseFont=pikepdf.Name.Helvetica, Encoding=pikepdf.Name.WinAnsiEncoding,
    ))


def text_ops(lines: list[str], *, size: float = 12, mode: int = 0,
             top: float = TOP, leading: float = LEADING, left: float = LEFT) -> bytes:
    """Helvetica text, one line every `leading` points from `top` down (mode 3: invisible)."""
    ops = [f"BT /F1 {size} Tf {mode} Tr".encode()]
    for row, line in enumerate(lines):
        encoded = _escape(line.encode("cp1252"))
        ops.append(b"1 0 0 1 %.2f %.2f Tm (" % (left, top - row * leading) + encoded + b") Tj")
    ops.append(b"ET")
    return b"\n".join(ops)


def text_layer_pdf(
    path: Path, pages: list[list[str]], *, image: Image.Image | None = None, mode: int = 0,
    size: float = 12, leading: float = LEADING, rotate: int = 0,
) -> Path:
    """One page per list of lines, each drawn in Helvetica; with `image`, every page
    shows it full-page beneath the text (a scan), and `mode=3` makes the text invisible
    (an OCR layer)."""
    pdf = pikepdf.new()
    font = _helvetica(pdf)
    for lines in pages:
        resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
        ops = []
        if image is not None:
            resources.XObject = pikepdf.Dictionary(Im0=_image_xobject(pdf, image))
            ops.append(f"q {PAGE[0]} 0 0 {PAGE[1]} 0 0 cm /Im0 Do Q".encode())
        ops.append(text_ops(lines, size=size, mode=mode, leading=leading))
        page = pikepdf.Dictionary(
            Type=pikepdf.Name.Page, MediaBox=[0, 0, *PAGE], Resources=resources,
            Contents=pdf.make_stream(b"\n".join(ops)),
        )
        if rotate:
            page.Rotate = rotate
        pdf.pages.append(pikepdf.Page(page))
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.save(path)
    return path


def _image_xobject(pdf: pikepdf.Pdf, image: Image.Image) -> pikepdf.Stream:
    grey = image.convert("L")
    return pdf.make_stream(
        zlib.compress(grey.tobytes()), Type=pikepdf.Name.XObject,
        Subtype=pikepdf.Name.Image, Width=grey.width, Height=grey.height,
        ColorSpace=pikepdf.Name.DeviceGray, BitsPerComponent=8,
        Filter=pikepdf.Name.FlateDecode,
    )
