"""Inputs whose pages carry a tag (`pipeline.pagetag`): what a fake answers for each page
is known in advance, so a test checks every output against its own input."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pipeline.pagetag import make_page


def tagged_pdf(
    path: Path, tags: Iterable[str], *, size: tuple[int, int] = (640, 480),
    resolution: float = 72.0,
) -> Path:
    """A PDF with one page per tag, in order (raster pages, as a scanner makes them)."""
    pages = [make_page(tag, size).convert("RGB") for tag in tags]
    if not pages:
        raise ValueError("a PDF needs at least one page")
    path.parent.mkdir(parents=True, exist_ok=True)
    pages[0].save(path, "PDF", resolution=resolution, save_all=True, append_images=pages[1:])
    return path


def tagged_images(
    folder: Path, tags: Iterable[str], *, fmt: str = "png", size: tuple[int, int] = (640, 480),
) -> list[Path]:
    """One image file per tag, named `<tag>.<fmt>`, in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for tag in tags:
        path = folder / f"{tag}.{fmt}"
        make_page(tag, size).save(path)
        paths.append(path)
    return paths
