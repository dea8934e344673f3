"""The typed values that flow between the stages (see DESIGN.md, "The data flow").

All are frozen dataclasses: a stage takes one and returns another, never mutates.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Literal, Protocol

Point = tuple[int, int]
Quad = tuple[Point, Point, Point, Point]
"""Four (x, y) corners, clockwise from top-left, in the pixels of the image sent to OCR."""


@dataclass(frozen=True)
class SourceObject:
    """One input document as the storage listing sees it."""

    key: str
    """Path relative to the source root, with '/' separators (the output tree mirrors it)."""
    url: str
    """Where to read it: an absolute local path or s3://bucket/key."""
    size: int
    mtime: float | None = None
    change_token: str | None = None
    """What tells a changed input from an unchanged one (content hash, ETag); None until
    the storage computes it (`Storage.change_token`: local files are hashed lazily)."""
    fingerprint: str | None = None
    """A cheap identity of the file's state (local: size, mtime, ctime, inode): while it
    is unchanged, the content hash recorded last time still holds."""


@dataclass(frozen=True)
class PageImage:
    """One page, fitted to the API limits and encoded, ready to send."""

    doc_key: str
    index: int
    """0-based page (or TIFF frame) number inside the document."""
    data: bytes
    """The encoded image exactly as sent (JPEG or PNG, or a passed-through original)."""
    format: Literal["jpeg", "png", "original"]
    width: int
    height: int
    """Pixel size of `data`: the coordinate system of the OCR boxes."""
    source_width: int
    source_height: int
    """Pixel size of the page before fitting (rendered or decoded); equal when not scaled."""
    dpi: float | None = None
    """Resolution of the source raster, when known (72 * pixels / points for PDF renders)."""


@dataclass(frozen=True)
class OcrRequest:
    """One recognition call: one page, one API."""

    doc_key: str
    page_index: int
    image_b64: str
    width: int
    height: int
    """Pixel size of the image sent: the coordinate system of the boxes that come back."""
    api: str = "general-text"
    options: tuple[tuple[str, object], ...] = ()
    """Extra body fields (detect_direction, language, ...) as sorted (name, value) pairs."""

    @property
    def body_size(self) -> int:
        return len(self.image_b64)


_NOT_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
"""Control characters, lone surrogates and non-characters: no output format can hold them
(Word, hOCR and ALTO are XML), and they carry no text."""


@dataclass(frozen=True)
class Block:
    """One recognised text block (a line, for RapidOCR). Its text never holds control
    characters (a PDF's text layer or a service may give them): they are dropped here."""

    text: str
    box: Quad
    confidence: float

    def __post_init__(self) -> None:
        if _NOT_TEXT.search(self.text):
            object.__setattr__(self, "text", _NOT_TEXT.sub("", self.text))

    @classmethod
    def rect(cls, text: str, left: int, top: int, width: int, height: int,
             confidence: float) -> Block:
        """An upright block: its box from the top-left corner and the size."""
        right, bottom = left + width, top + height
        return cls(text, ((left, top), (right, top), (right, bottom), (left, bottom)),
                   confidence)


@dataclass(frozen=True)
class OcrResult:
    """The answer to one recognition call, in the pixels of the image that was sent."""

    blocks: tuple[Block, ...]
    width: int
    height: int
    direction: float = -1.0
    request_id: str = ""
    raw: object = None
    """The answer's `result` as returned (JSON data) for a structured API, or a text API's
    answer with tables (`pipeline.answer_tables`); None otherwise."""


@dataclass(frozen=True)
class PageGeometry:
    """How the pixels sent to OCR map back onto the source page.

    Boxes are in the pixels of the image sent (`image_width` x `image_height`). That
    image is the source page (`source_width` x `source_height` pixels, as rendered or
    decoded, upright) scaled to fit the API limits. With `dpi` known, the page measures
    source_width * 72 / dpi points across.
    """

    image_width: int
    image_height: int
    source_width: int
    source_height: int
    dpi: float | None = None

    @classmethod
    def of(cls, page: PageImage) -> PageGeometry:
        return cls(page.width, page.height, page.source_width, page.source_height, page.dpi)


RegionKind = Literal[
    "text", "title", "figure", "figure_caption", "table", "table_caption",
    "header", "footer", "equation", "rule",
]
"""What a layout region holds (`pipeline.layout_model` maps the model's classes to these;
"rule": a ruled line of a table, `pipeline.table_rules`)."""


@dataclass(frozen=True)
class Region:
    """One layout region of a page: an axis-aligned box in the pixels of the image sent
    to OCR (the OCR boxes' coordinate system, not turned upright)."""

    kind: RegionKind
    box: tuple[int, int, int, int]
    """left, top, right, bottom."""
    score: float = 1.0


@dataclass(frozen=True)
class PageResult:
    """A page's OCR result together with where it came from."""

    index: int
    result: OcrResult
    geometry: PageGeometry | None = None
    regions: tuple[Region, ...] | None = None
    """Layout regions (`[output] layout`); None: not detected (layout off, older results),
    () detected and none found. Writers read `pipeline.paragraphs.page_paragraphs`."""
    paragraphs: tuple[Mapping[str, object], ...] | None = field(default=None, compare=False)
    """The page's paragraphs in reading order as a JSON result holds them
    (`pipeline.layout_json`), read back by `ocrpipe export`; None: computed."""


@dataclass(frozen=True)
class DocumentResult:
    """Everything the writers need to produce one document's outputs."""

    source: SourceObject
    pages: tuple[PageResult, ...]


AttemptOutcome = Literal["billed", "failed", "unknown"]
"""How one OCR attempt ended: 'billed' (a 2xx answer), 'failed' (an error answer, or nothing
was sent), 'unknown' (sent, no answer: the service may have billed it)."""
LedgerOutcome = Literal["pending", "billed", "failed", "unknown", "saved"]
"""An attempt as the ledger holds it: 'pending' is written before sending, then it becomes
its `AttemptOutcome`; a 'pending' row left by a crash becomes 'unknown' on the next run.
'saved' is a page that needed no call (its text layer, blank, a duplicate): never billed."""
DocumentOutcome = Literal["done", "failed", "skipped", "interrupted", "partial"]
""""partial": a page range of a split document was recognised (pipeline/fleet/)."""
"""How one document of a run ended."""


@dataclass(frozen=True)
class UsageRecord:
    """One OCR attempt, as the ledger stores it."""

    job: str
    doc_key: str
    page_index: int
    enterprise_project: str
    api: str
    attempt: int
    bytes_sent: int
    outcome: LedgerOutcome = "pending"
    http_status: int | None = None
    error_code: str | None = None
    request_id: str | None = None
    latency_ms: float | None = None


def result_to_dict(result: OcrResult) -> dict[str, object]:
    """The JSON form of an OcrResult (also what the .json writer emits per page)."""
    data: dict[str, object] = {
        "width": result.width,
        "height": result.height,
        "direction": result.direction,
        "request_id": result.request_id,
        "blocks": [
            {"text": b.text, "box": [list(p) for p in b.box], "confidence": b.confidence}
            for b in result.blocks
        ],
    }
    if result.raw is not None:
        data["result"] = result.raw
    return data


def result_from_dict(data: dict[str, object]) -> OcrResult:
    """Inverse of `result_to_dict`."""
    blocks = []
    for raw in data["blocks"]:  # type: ignore[attr-defined]
        corners = tuple((int(x), int(y)) for x, y in raw["box"])
        blocks.append(Block(str(raw["text"]), corners, float(raw["confidence"])))  # type: ignore[arg-type]
    return OcrResult(
        blocks=tuple(blocks),
        width=int(data["width"]),  # type: ignore[call-overload]
        height=int(data["height"]),  # type: ignore[call-overload]
        direction=float(data.get("direction", -1.0)),  # type: ignore[arg-type]
        request_id=str(data.get("request_id", "")),
        raw=data.get("result"),
    )


def page_to_dict(page: PageResult) -> dict[str, object]:
    """The JSON form of one page: its result plus its geometry (when known)."""
    data: dict[str, object] = {"index": page.index, **result_to_dict(page.result)}
    if page.geometry is not None:
        data["geometry"] = asdict(page.geometry)
    if page.regions is not None:
        data["regions"] = [
            {"kind": r.kind, "box": list(r.box), "score": r.score} for r in page.regions
        ]
    return data


def _region(raw: dict[str, object]) -> Region:
    left, top, right, bottom = (int(v) for v in raw["box"])  # type: ignore[attr-defined]
    return Region(raw["kind"], (left, top, right, bottom), float(raw.get("score", 1.0)))  # type: ignore[arg-type]


def page_from_dict(data: dict[str, object]) -> PageResult:
    """Inverse of `page_to_dict`."""
    raw = data.get("geometry")
    geometry = PageGeometry(**raw) if isinstance(raw, dict) else None
    regions = data.get("regions")
    paragraphs = data.get("paragraphs")
    return PageResult(
        int(data["index"]),  # type: ignore[call-overload]
        result_from_dict(data),
        geometry,
        None if not isinstance(regions, list) else tuple(_region(r) for r in regions),
        None if not isinstance(paragraphs, list) else tuple(paragraphs),
    )


@dataclass(frozen=True)
class RunSummary:
    """What one run of a job did: the end-of-job summary and the exit code come from it."""

    job: str
    documents_done: int
    documents_failed: int
    documents_skipped: int
    pages_sent: int
    pages_reused: int
    billed_calls: dict[str, int]
    elapsed: float
    output: str
    failures: tuple[tuple[str, str], ...]
    notices: tuple[str, ...] = ()
    """What the run left out and why (symbolic links, its own outputs), or found nothing."""
    calls_saved: dict[str, int] = field(default_factory=dict)
    """Pages that needed no OCR call, by enterprise project (the ledger's 'saved' rows)."""
    saved_reasons: dict[str, int] = field(default_factory=dict)
    """The same pages by reason: text_layer, blank, duplicate."""
    stopped: str | None = None
    """Why the run stopped before the end of its listing ("budget"); None if it did not."""


class RunObserver(Protocol):
    """What a run reports while it goes: the CLI's progress bar is one; tests count."""

    def document_found(self) -> None: ...

    def document_done(self) -> None: ...

    def page_done(self) -> None: ...


class SilentObserver:
    """Reports to no one."""

    def document_found(self) -> None:
        pass

    def document_done(self) -> None:
        pass

    def page_done(self) -> None:
        pass
