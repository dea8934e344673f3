"""Pixel normalisation both sides apply before OCR: one rule, defined once.

The client flattens a page before fitting and encoding it (`pipeline.prepare`), the
service before handing it to the engine (`pipeline.service.images`). Transparency is
composited onto white (black text on a transparent background would otherwise turn black
on black); palette images become RGB; 16-bit and float grey become 8-bit, keeping the
contrast; CMYK, YCbCr, LAB and the like become RGB.
"""

from __future__ import annotations

from typing import cast

from PIL import Image, ImageOps


def flatten(image: Image.Image) -> Image.Image:
    """The image as mode '1', 'L' or 'RGB': transparency composited onto white."""
    mode = image.mode
    if mode in ("1", "L", "RGB"):
        return image
    if mode == "P":
        has_alpha = "transparency" in image.info
        image, mode = image.convert("RGBA" if has_alpha else "RGB"), "RGBA" if has_alpha else "RGB"
    if mode in ("RGBA", "RGBa", "LA", "La", "PA"):
        grey = mode in ("LA", "La")
        rgba = image.convert("LA" if grey else "RGBA")
        background = Image.new("L" if grey else "RGB", rgba.size, 255 if grey else (255, 255, 255))
        background.paste(rgba.convert("L" if grey else "RGB"), mask=rgba.getchannel("A"))
        return background
    if mode.startswith("I") or mode == "F":
        return _to_8bit(image)
    return image.convert("RGB")  # CMYK, YCbCr, LAB, HSV, RGBX


def as_bitonal(image: Image.Image) -> Image.Image | None:
    """A two-colour 'L' or 'RGB' image (a bitonal scan stored as grey, palette or RGB)
    as mode '1', darker colour black; None if it has more colours. Cheap: Pillow stops
    counting at the third colour."""
    if image.getcolors(2) is None:
        return None
    grey = image if image.mode == "L" else image.convert("L")
    low, high = cast(tuple[int, int], grey.getextrema())
    threshold = (low + high) / 2 if high > low else 127
    return grey.point(lambda v: 255 if v > threshold else 0, mode="1")


def _to_8bit(image: Image.Image) -> Image.Image:
    """16-bit / 32-bit / float grey to 8-bit, keeping the contrast."""
    import numpy as np  # here: rare pages need it, and every process imports this module

    values = np.asarray(image, dtype=np.float32)
    top = float(values.max()) if values.size else 0.0
    if image.mode == "F" and top <= 1.0:
        full = 1.0  # float images scaled 0..1
    elif top <= 255:
        full = 255.0
    else:
        full = 65535.0 if top <= 65535 else top
    scaled = np.clip(values * (255.0 / full), 0, 255).round().astype(np.uint8)
    return Image.fromarray(scaled)


def upright(image: Image.Image) -> Image.Image:
    """The image turned as its EXIF orientation says; as it is if that block is broken."""
    try:
        return ImageOps.exif_transpose(image)
    except Exception:  # a broken EXIF block is no reason to refuse the page
        return image


def to_rgb(image: Image.Image) -> Image.Image:
    """Upright (EXIF), flattened (`flatten`), 8-bit RGB: what an OCR engine reads."""
    flat = flatten(upright(image))
    return flat if flat.mode == "RGB" else flat.convert("RGB")
