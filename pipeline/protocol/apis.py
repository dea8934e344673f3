"""Every Huawei Cloud OCR API: what its request takes and what its answer holds.

The facts come from the official SDK (`huaweicloudsdkocr`), generated into
`ocr_apis.json` beside this module by `python -m benchmarks.ocr_catalogue`; the runtime
reads that file and never imports the SDK (a dev dependency only). A unit test compares
the file with the installed SDK, so the two cannot drift.

    api("vat-invoice").image_field   -> "image"
    api("vat-invoice").fields        -> {"image": "str", "url": "str", "advanced_mode": "bool", ...}
    api("vat-invoic")                -> UnknownApi: ... did you mean 'vat-invoice'?
    check_options(api("id-card"), {"side": "front"}) -> [] (else the problems, in words)
    region_endpoint("cn-north-4")    -> "https://ocr.cn-north-4.myhuaweicloud.com"
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

CATALOGUE = Path(__file__).with_name("ocr_apis.json")

EMBEDDED_APIS = ("general-text", "web-image", "handwriting", "smart-document-recognizer")
"""The APIs the embedded service (`ocrpipe serve`) answers; the others get 403 ModelArts.4204."""
SENT_BY_THE_PIPELINE = frozenset({"image", "data", "url", "pdf_page_number"})
"""Request fields the pipeline fills itself (each page goes as an image): never options."""

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
}


class UnknownApi(ValueError):
    """An API name the catalogue does not hold; the message suggests the closest ones."""


class UnknownRegion(ValueError):
    """A region the SDK's OCR region table does not hold."""


@dataclass(frozen=True)
class OcrApi:
    """One API of the catalogue."""

    name: str
    """As in the URL path: /v2/{project_id}/ocr/{name}."""
    fields: Mapping[str, str]
    """The request body's fields and their SDK types ('str', 'bool', 'list[str]', ...)."""
    image_field: str | None
    """'image' or 'data'; None for an API that reads no image (invoice-verification)."""
    pdf_page_number: bool
    kind: Literal["text", "structured"]
    """'text': blocks with boxes for every output format; 'structured': named fields."""
    result: Literal["object", "list"]
    """The answer's `result`: one object, or a list of items (one row each)."""
    columns: tuple[str, ...]
    """The result's fields flattened with dots, in the SDK model's order."""
    method: str
    """The SDK method that calls it (recognize_vat_invoice)."""
    response_model: str
    """The SDK's response model (RecognizeVatInvoiceResponse)."""

    @property
    def options(self) -> tuple[str, ...]:
        """The fields a job may set in `[ocr] options`."""
        return tuple(f for f in self.fields if f not in SENT_BY_THE_PIPELINE)


@cache
def _catalogue() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(CATALOGUE.read_text(encoding="utf-8"))
    return data


@cache
def all_apis() -> dict[str, OcrApi]:
    """Every API by name, in the catalogue's order."""
    return {
        name: OcrApi(
            name=name,
            fields=dict(entry["fields"]),
            image_field=entry["image_field"],
            pdf_page_number=bool(entry["pdf_page_number"]),
            kind=entry["kind"],
            result=entry["result"],
            columns=tuple(entry["columns"]),
            method=entry["method"],
            response_model=entry["response_model"],
        )
        for name, entry in _catalogue()["apis"].items()
    }


def api(name: str) -> OcrApi:
    """The API called `name`, or UnknownApi naming the closest ones."""
    apis = all_apis()
    found = apis.get(name)
    if found is not None:
        return found
    close = difflib.get_close_matches(name, list(apis), n=3, cutoff=0.5)
    hint = (
        f"did you mean {' or '.join(repr(c) for c in close)}?"
        if close
        else f"the {len(apis)} known APIs are listed by `ocrpipe apis`"
    )
    raise UnknownApi(f"{name!r} is not a Huawei OCR API: {hint}")


def image_field(name: str) -> str:
    """The body field that carries the Base64 image for API `name` ('image' if unknown)."""
    found = all_apis().get(name)
    return (found.image_field if found else None) or "image"


def check_options(target: OcrApi, options: Mapping[str, object]) -> list[str]:
    """What is wrong with `options` for `target` (empty when nothing): unknown fields
    (naming the valid ones), fields the pipeline sends itself, values of the wrong type."""
    problems = []
    for key, value in options.items():
        if key in SENT_BY_THE_PIPELINE:
            problems.append(
                f"{key!r} is sent by ocrpipe itself (each page goes as an image): remove it"
            )
        elif key not in target.fields:
            valid = ", ".join(target.options) or "none"
            problems.append(f"{target.name} has no option {key!r}; its options: {valid}")
        elif not _matches(value, target.fields[key]):
            problems.append(
                f"{key!r} of {target.name} takes a {target.fields[key]}, not {value!r}"
            )
    return problems


def _matches(value: object, sdk_type: str) -> bool:
    if sdk_type in _JSON_TYPES:
        if sdk_type != "bool" and isinstance(value, bool):
            return False
        return isinstance(value, _JSON_TYPES[sdk_type])
    if sdk_type.startswith("list["):
        inner = sdk_type[5:-1]
        return isinstance(value, list) and all(_matches(v, inner) for v in value)
    return True  # 'object', dicts and nested models: the service checks them


def regions() -> dict[str, str]:
    """Region id -> OCR endpoint, from the SDK's OcrRegion table."""
    return {rid: entry["ocr"] for rid, entry in _catalogue()["regions"].items()}


def region_endpoint(region: str) -> str:
    """The OCR endpoint of `region`, or UnknownRegion naming the known ones."""
    known = regions()
    if region in known:
        return known[region]
    raise UnknownRegion(
        f"{region!r} is not a Huawei OCR region; the regions: {', '.join(known)}"
    )


def region_hosts(region: str) -> tuple[str, ...]:
    """Every endpoint the SDK lists for `region` (.com and, where offered, .cn)."""
    region_endpoint(region)
    return tuple(_catalogue()["regions"][region]["endpoints"])


def iam_endpoint(region: str) -> str:
    """The regional IAM endpoint, on the OCR endpoint's domain (iam.{region}.{domain})."""
    ocr = region_endpoint(region)
    return ocr.replace("://ocr.", "://iam.", 1)
