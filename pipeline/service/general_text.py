"""The text APIs: parse a request body, answer in Huawei's shape.

Served on one engine (protocol.md, section 1):

- `general-text`, `web-image`, `handwriting`: image in `image`, result an object
  `{"direction", "words_block_count", "words_block_list", ["markdown_result"]}`;
- `smart-document-recognizer`: image in `data`, result a list with one entry per page
  recognised (one: the `pdf_page_number` of a PDF), each `{"ocr_result": {...}}`.

Any other API name Huawei has answers 403 ModelArts.4204 (not subscribed here).

Request fields:

- the image field or `url`: exactly one. `url` is downloaded by the service (fetch.py).
- `pdf_page_number` (int >= 1, default 1).
- `detect_direction`: the page is turned upright before recognition; `direction` is then
  0, 90, 180 or 270 (direction.py), else -1. Boxes stay in the pixels of the image as sent.
- `quick_mode`: the image is read as one line, without text detection (fast; for crops);
  `direction` is then -1 whatever `detect_direction` says.
- `character_mode`: each block gets `char_list` (per-character boxes, as RapidOCR computes
  them from the recogniser's alignment).
- `return_markdown_result`: `markdown_result` joins a line's blocks with a tab, lines with
  a newline.
- `language`: the engine's languages (RapidOCR: zh, the default Chinese + English, en,
  auto); another answers AIS.0101 naming the supported ones.
- `single_orientation_mode` and unknown fields: accepted, no effect.

The body is read as JSON whatever its Content-Type says.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pipeline.protocol.apis import EMBEDDED_APIS, all_apis, image_field
from pipeline.protocol.codes import CONTENT_TOO_LONG, INVALID_JSON, INVALID_PARAMETER
from pipeline.protocol.limits import MAX_BASE64_CHARS

from .apierror import ApiError
from .backend import EngineRequest
from .engine import PageText, RecognizeOptions

API_NAME = "general-text"
SMART_DOCUMENT = "smart-document-recognizer"
TEXT_APIS = EMBEDDED_APIS
KNOWN_APIS = frozenset(all_apis()) - frozenset(TEXT_APIS)
"""Huawei's other OCR APIs (the catalogue generated from the SDK): 4204 here, not 404."""
BOOL_OPTIONS = (
    "detect_direction",
    "quick_mode",
    "character_mode",
    "single_orientation_mode",
    "return_markdown_result",
)


@dataclass(frozen=True)
class TextRequest:
    api: str
    image_b64: str
    """"" when the image comes from `url`."""
    url: str
    options: RecognizeOptions

    @property
    def with_chars(self) -> bool:
        return self.options.engine.character_mode


def parse_body(body: bytes, api: str = API_NAME) -> TextRequest:
    """Validate a request body of `api`; ApiError with the Huawei code otherwise."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(INVALID_JSON, "The request body is not valid JSON") from None
    except RecursionError:  # arrays or objects nested thousands deep
        raise ApiError(
            INVALID_JSON, "The request body is not valid JSON: it is nested too deep"
        ) from None
    if not isinstance(data, dict):
        raise ApiError(INVALID_PARAMETER, "The request body must be a JSON object")

    field = image_field(api)
    image = _optional(data, field, str)
    url = _optional(data, "url", str)
    if image and url:
        raise ApiError(INVALID_PARAMETER, f"Give either {field} or url, not both")
    if not image and not url:
        raise ApiError(INVALID_PARAMETER, f"One of {field} or url is required")
    if image and len(image) > MAX_BASE64_CHARS:
        raise ApiError(
            CONTENT_TOO_LONG,
            f"The {field} is {len(image)} Base64 characters, "
            f"more than the limit of {MAX_BASE64_CHARS} (10 MB)",
        )

    flags = {name: _optional(data, name, bool) or False for name in BOOL_OPTIONS}
    language = _optional(data, "language", str) or ""
    page = _optional(data, "pdf_page_number", int)
    if page is None:
        page = 1
    if page < 1:
        raise ApiError(INVALID_PARAMETER, "pdf_page_number must be 1 or more")
    engine = EngineRequest(
        detect_direction=flags["detect_direction"],
        quick_mode=flags["quick_mode"],
        character_mode=flags["character_mode"],
        language=language.strip().lower(),
    )
    options = RecognizeOptions(
        pdf_page_number=page, return_markdown=flags["return_markdown_result"], engine=engine
    )
    return TextRequest(api, image or "", url or "", options)


def _optional(data: dict[str, Any], name: str, kind: type) -> Any:
    """The field's value if present and not null, checked against `kind`."""
    value = data.get(name)
    if value is None:
        return None
    # bool is an int in Python: refuse true/false where a number is expected.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        expected = {str: "a string", bool: "true or false", int: "an integer"}[kind]
        raise ApiError(INVALID_PARAMETER, f"{name} must be {expected}")
    return value


def response_body(page: PageText, request: TextRequest) -> dict[str, Any]:
    """`{"result": ...}` as Huawei answers a successful call of `request.api`."""
    result: dict[str, Any] = {
        "direction": page.direction,
        "words_block_count": len(page.blocks),
        "words_block_list": [
            block.as_json(with_chars=request.with_chars) for block in page.blocks
        ],
    }
    if page.markdown is not None:
        result["markdown_result"] = page.markdown
    if request.api == SMART_DOCUMENT:
        return {"result": [{"ocr_result": result}]}
    return {"result": result}
