"""Reading a run's outputs back, to check each against its own input (STYLE.md point 15)."""

from __future__ import annotations

import json
from pathlib import Path


def page_texts(out: Path, key: str) -> list[str]:
    """The text of each page of document `key`, in page order, from its .json output."""
    data = json.loads((out / f"{key}.json").read_text(encoding="utf-8"))
    assert [page["index"] for page in data["pages"]] == list(range(len(data["pages"])))
    return ["\n".join(block["text"] for block in page["blocks"]) for page in data["pages"]]


def txt_pages(out: Path, key: str) -> list[str]:
    """The pages of document `key`'s .txt output (form-feed separated), stripped."""
    return [page.strip() for page in (out / f"{key}.txt").read_text(encoding="utf-8").split("\f")]


def echoed(tags: list[str]) -> list[str]:
    """What the testing kit's fakes answer for pages tagged `tags`."""
    return [f"page {tag}" for tag in tags]
