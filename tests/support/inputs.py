"""Small inputs made on the fly for tests: text pages and the bad files a batch meets."""

from __future__ import annotations

import io
import zlib
from pathlib import Path
from typing import Literal

import pikepdf
from PIL import Image, ImageDraw, ImageFont


def text_page(lines: list[str], size: tuple[int, int] = (1000, 400)) -> Image.Image:
    """A white page with black text, big enough for any OCR engine."""
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=48)
    for row, line in enumerate(lines):
        draw.text((40, 40 + row * 80), line, fill=0, font=font)
    return image


def text_pdf(path: Path, pages: list[list[str]]) -> Path:
    images = [text_page(lines).convert("RGB") for lines in pages]
    images[0].save(path, "PDF", resolution=100.0, save_all=True, append_images=images[1:])
    return path


def giant_png(path: Path, side: int = 20_000) -> Path:
    """A valid 1-bit PNG of side x side px, written without allocating the image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = side.to_bytes(4, "big") * 2 + bytes([1, 0, 0, 0, 0])  # 1 bit, grey
    row = b"\x00" + b"\xff" * ((side + 7) // 8)
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )
    return path


def bad_files(folder: Path) -> dict[str, str]:
    """Write the bad inputs; return {file name: a word its error message must contain}."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "empty.pdf").write_bytes(b"")
    (folder / "corrupt.pdf").write_bytes(b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog garbage")
    (folder / "notes.png").write_text("this is a text file, not an image\n")
    Image.new("L", (10, 12), 255).save(folder / "tiny.png")
    giant_png(folder / "giant.png")
    expected = {
        "empty.pdf": "empty",
        "corrupt.pdf": "PDF",
        "notes.png": "not an image",
        "tiny.png": "15",
        "giant.png": "Mpx",
    }
    encrypted_pdf(folder / "locked.pdf", user_password="password")
    expected["locked.pdf"] = "password"
    return expected


LOCKED_PAGE = ["Locked page"]
"""The text of `encrypted_pdf`'s page: `text_pdf(path, [LOCKED_PAGE])` is its plain twin."""


def encrypted_pdf(
    path: Path, *, user_password: str, owner_password: str = "owner",
    revision: Literal[4, 6] = 6,
) -> Path:
    """A one-page PDF (`LOCKED_PAGE`) encrypted with AES (revision 6: AES-256; 4: AES-128)
    that opens only with `user_password`; with an empty one anyone may open it, and only
    the owner restrictions are set."""
    plain = io.BytesIO()
    text_page(LOCKED_PAGE).convert("RGB").save(plain, "PDF", resolution=100.0)
    with pikepdf.open(io.BytesIO(plain.getvalue())) as pdf:
        pdf.save(path, encryption=pikepdf.Encryption(
            user=user_password, owner=owner_password, R=revision, aes=True))
    return path
