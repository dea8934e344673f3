"""The invisible font of the searchable PDF's text layer.

Text drawn in render mode 3 is never painted, so its font needs no glyph outlines: only
metrics (so viewers and extractors know where each character sits) and a ToUnicode map
(so copy, search and `pdftotext` give back the characters). This is the approach of
Tesseract's and OCRmyPDF's PDF renderers; the font program here is built from scratch
in `glyphless_truetype()`: a TrueType font of two empty glyphs, 252 bytes.

Character codes are assigned per document: the n-th distinct character gets CID n
(2-byte codes, Identity-H), every CID maps to the empty glyph 1, and the ToUnicode map
gives each CID its character, as UTF-16 (so text beyond the BMP, e.g. CJK Extension B,
works too). Measured cost, once per document (font, widths, CID map, ToUnicode, all
compressed): 1.3 KB for the 94 printable ASCII characters, 3.7 KB for the 530 distinct
characters of the BYD report (Chinese), 13.7 KB for 3,000 distinct CJK characters. No
glyph outlines, so no CJK font (Noto Sans CJK: about 16 MB) is embedded.
"""

from __future__ import annotations

import struct
import unicodedata
import zlib
from collections.abc import Iterable

import pikepdf

UNITS_PER_EM = 1000
ASCENT = 800
DESCENT = -200
"""Font size = box height, baseline at 20 % of it: the text's extent is exactly the box."""

_NARROW = set("iljtfI.,;:!|'`()[]{}/\\-\"")
_WIDE_LATIN = set("mwMW@%")


def char_width(char: str) -> int:
    """Approximate advance of `char` in 1/1000 em, Helvetica-like for Latin, full width
    for CJK. The layer is scaled to each box's width, so only the proportions matter:
    they place the words of a line near where they are printed."""
    if unicodedata.east_asian_width(char) in ("W", "F"):
        return 1000
    if char == " ":
        return 280
    if char in _NARROW:
        return 300
    if char in _WIDE_LATIN:
        return 850
    if char.isupper() or char.isdigit():
        return 620
    return 520


def _table_checksum(data: bytes) -> int:
    padded = data + b"\0" * (-len(data) % 4)
    words: tuple[int, ...] = struct.unpack(f">{len(padded) // 4}I", padded)
    return sum(words) & 0xFFFFFFFF


def glyphless_truetype() -> bytes:
    """A minimal TrueType font: glyph 0 (.notdef) and glyph 1, both empty, advance 1/2 em.

    Only the tables PDF requires of an embedded TrueType font (ISO 32000-1, 9.9):
    head, hhea, hmtx, loca, maxp, glyf; the PDF's own /W and ToUnicode do the rest.
    """
    glyphs = 2
    head = struct.pack(
        ">IIIIHHqqhhhhHHhhh",
        0x00010000, 0x00010000, 0, 0x5F0F3CF5,  # version, revision, checksum adj., magic
        0b1011, UNITS_PER_EM,  # flags: baseline at y=0, lsb at x=0, integer scaling
        0, 0,  # created, modified (seconds since 1904: left at the epoch, reproducible)
        0, DESCENT, UNITS_PER_EM // 2, ASCENT,  # xMin, yMin, xMax, yMax
        0, 8, 2, 0, 0,  # macStyle, lowestRecPPEM, direction hint, short loca, glyf format 0
    )
    hhea = struct.pack(
        ">IhhhHhhhhhhhhhhhH",
        0x00010000, ASCENT, DESCENT, 0, UNITS_PER_EM // 2,  # ..., advanceWidthMax
        0, 0, UNITS_PER_EM // 2, 1, 0, 0,  # min lsb, min rsb, xMaxExtent, caret rise/run/offset
        0, 0, 0, 0, 0, glyphs,  # reserved x4, metricDataFormat, numberOfHMetrics
    )
    maxp = struct.pack(">IH" + "H" * 13, 0x00010000, glyphs, 2, 1, 0, 0, 1, *([0] * 8))
    hmtx = struct.pack(">hh", UNITS_PER_EM // 2, 0) * glyphs
    # glyph 1: one contour of two points, corner to corner of the em box: it encloses no
    # area (nothing is ever painted) but gives each character a size, without which
    # PDFium drops text that runs up or down the page
    glyph = struct.pack(
        ">hhhhhHHBBhhhh", 1, 0, DESCENT, UNITS_PER_EM // 2, ASCENT,  # contours, bbox
        1, 0, 1, 1,  # last point 1, no instructions, flags: both points on the curve
        0, UNITS_PER_EM // 2, DESCENT, ASCENT - DESCENT,  # x, dx, y, dy
    )
    glyph += b"\0" * (-len(glyph) % 4)
    loca = struct.pack(">HHH", 0, 0, len(glyph) // 2)  # glyph 0 empty, glyph 1
    glyf = glyph
    tables = {
        b"glyf": glyf, b"head": head, b"hhea": hhea, b"hmtx": hmtx, b"loca": loca,
        b"maxp": maxp,
    }
    count = len(tables)
    power = 1 << (count.bit_length() - 1)
    header = struct.pack(">IHHHH", 0x00010000, count, power * 16, power.bit_length() - 1,
                         (count - power) * 16)
    offset = len(header) + 16 * count
    directory, body = b"", b""
    for tag in sorted(tables):
        data = tables[tag]
        directory += struct.pack(">4sIII", tag, _table_checksum(data), offset + len(body),
                                 len(data))
        body += data + b"\0" * (-len(data) % 4)
    font = bytearray(header + directory + body)
    head_at = offset + body.index(head)
    adjustment = (0xB1B0AFBA - _table_checksum(bytes(font))) & 0xFFFFFFFF
    font[head_at + 8 : head_at + 12] = struct.pack(">I", adjustment)
    return bytes(font)


class TextFont:
    """The per-document code assignment: characters to 2-byte CIDs, and back."""

    def __init__(self, texts: Iterable[str]) -> None:
        self.cids: dict[str, int] = {}
        for text in texts:
            for char in text:
                if char not in self.cids and unicodedata.category(char) not in ("Cc", "Cs"):
                    self.cids[char] = len(self.cids) + 1
        if len(self.cids) >= 0xFFFF:
            raise ValueError("more than 65534 distinct characters in one document")

    def encode(self, text: str) -> bytes:
        """`text` as the string operand of Tj (characters the font lacks are dropped)."""
        return b"".join(struct.pack(">H", self.cids[c]) for c in text if c in self.cids)

    def width(self, text: str) -> float:
        """Advance of `text` at font size 1, in text space units."""
        return sum(char_width(c) for c in text if c in self.cids) / UNITS_PER_EM

    def to_unicode_cmap(self) -> bytes:
        lines = [
            "/CIDInit /ProcSet findresource begin",
            "12 dict begin",
            "begincmap",
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
            "/CMapName /Adobe-Identity-UCS def",
            "/CMapType 2 def",
            "1 begincodespacerange",
            "<0000> <FFFF>",
            "endcodespacerange",
        ]
        items = list(self.cids.items())
        for start in range(0, len(items), 100):  # at most 100 entries per block
            chunk = items[start : start + 100]
            lines.append(f"{len(chunk)} beginbfchar")
            lines += [f"<{cid:04X}> <{char.encode('utf-16-be').hex().upper()}>"
                      for char, cid in chunk]
            lines.append("endbfchar")
        lines += ["endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end"]
        return ("\n".join(lines) + "\n").encode("ascii")

    def pdf_object(self, pdf: pikepdf.Pdf) -> pikepdf.Object:
        """The Type0 font, as an indirect object of `pdf`."""
        font_file = pdf.make_stream(glyphless_truetype())
        descriptor = pikepdf.Dictionary(
            Type=pikepdf.Name.FontDescriptor, FontName=pikepdf.Name("/GlyphLessFont"),
            Flags=5,  # fixed pitch, symbolic
            FontBBox=[0, DESCENT, UNITS_PER_EM // 2, ASCENT], ItalicAngle=0,
            Ascent=ASCENT, Descent=DESCENT, CapHeight=ASCENT, StemV=80,
            FontFile2=font_file,
        )
        cid_to_gid = struct.pack(">H", 0) + struct.pack(">H", 1) * len(self.cids)
        widths = [1, [char_width(char) for char in self.cids]]  # CIDs are 1..n in order
        descendant = pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.CIDFontType2,
            BaseFont=pikepdf.Name("/GlyphLessFont"),
            CIDSystemInfo=pikepdf.Dictionary(
                Registry=pikepdf.String("Adobe"), Ordering=pikepdf.String("Identity"),
                Supplement=0,
            ),
            FontDescriptor=pdf.make_indirect(descriptor),
            DW=500, W=pikepdf.Array(widths),
            CIDToGIDMap=_flate(pdf, cid_to_gid),
        )
        font = pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type0,
            BaseFont=pikepdf.Name("/GlyphLessFont"), Encoding=pikepdf.Name("/Identity-H"),
            DescendantFonts=[pdf.make_indirect(descendant)],
            ToUnicode=_flate(pdf, self.to_unicode_cmap()),
        )
        return pdf.make_indirect(font)


def _flate(pdf: pikepdf.Pdf, data: bytes) -> pikepdf.Stream:
    return pikepdf.Stream(pdf, zlib.compress(data, 9), Filter=pikepdf.Name.FlateDecode)
