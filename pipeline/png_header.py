"""What a PNG file is, read from its chunks without decoding a pixel.

A PNG page that already suits the OCR API (grey or RGB, no transparency, no rotation to
apply, one frame) can be sent as it is (`page_worker.passthrough_png`): decoding it to
check it, then encoding it again as JPEG, was most of the CPU a small page cost (a
1240 x 1754 grey scan: about 15 ms, against well under 1 ms to read its chunks). Pillow
cannot answer every question without decoding (`getexif` of a PNG loads the image), so
the chunks are walked here: each one's CRC is checked, and the file must end with IEND,
so a truncated or damaged file is left to the decoder, which says what is wrong.

    PNG = signature, then chunks: length (4 bytes) | type (4) | data | CRC-32 (4)
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

SIGNATURE = b"\x89PNG\r\n\x1a\n"
_GREY, _RGB = 0, 2
_METRE_PER_INCH = 0.0254


@dataclass(frozen=True)
class PngHeader:
    width: int
    height: int
    bit_depth: int
    colour_type: int
    chunk_types: frozenset[bytes]
    dpi: float | None

    @property
    def plain(self) -> bool:
        """Grey (1- or 8-bit) or 8-bit RGB, one frame, no transparency, no EXIF (whose
        orientation would have to be applied)."""
        depth_ok = self.bit_depth in (1, 8) if self.colour_type == _GREY else self.bit_depth == 8
        return (
            self.colour_type in (_GREY, _RGB) and depth_ok
            and not self.chunk_types & {b"tRNS", b"eXIf", b"acTL"}
        )


def read_png_header(data: bytes) -> PngHeader | None:
    """The header of the PNG file `data`, or None when it is not a whole, sound PNG
    (wrong signature, a bad CRC, cut off before IEND)."""
    if not data.startswith(SIGNATURE):
        return None
    offset, types, ihdr, phys = len(SIGNATURE), set(), b"", b""
    while offset + 12 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, offset)
        end = offset + 8 + length
        if end + 4 > len(data):
            return None
        body = data[offset + 8:end]
        (crc,) = struct.unpack_from(">I", data, end)
        if zlib.crc32(body, zlib.crc32(kind)) != crc:
            return None
        types.add(kind)
        if kind == b"IHDR":
            ihdr = body
        elif kind == b"pHYs":
            phys = body
        elif kind == b"IEND":
            break
        offset = end + 4
    if b"IEND" not in types or len(ihdr) != 13:
        return None
    width, height, depth, colour = struct.unpack_from(">IIBB", ihdr)
    return PngHeader(width, height, depth, colour, frozenset(types), _dpi(phys))


def _dpi(phys: bytes) -> float | None:
    if len(phys) != 9:
        return None
    x, _y, unit = struct.unpack(">IIB", phys)
    return x * _METRE_PER_INCH if unit == 1 and x else None
