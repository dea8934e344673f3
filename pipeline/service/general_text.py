"""The `general-text` API: parse the request body, recognise, answer in Huawei's shape.

Request fields (protocol.md, section 1):

- `image` (Base64 of an image or a PDF) or `url`: exactly one. `url` input is not supported
  by this service yet and answers AIS.0101 (a download that is safe against SSRF comes in a
  later change).
- `pdf_page_number` (int >= 1, default 1): honoured.
- `return_markdown_result` (bool): honoured; `markdown_result` joins the blocks of a line
  with a tab and the lines with a newline.
- `detect_direction`, `quick_mode`, `character_mode`, `single_orientation_mode` (bool) and
  `language` (string): type-checked, then ignored for now. `direction` is always -1 ("not
  detected"), no `char_list` is returned, and the one model (PP-OCR Chinese + English)
  serves every language.

Unknown fields are ignored, as clients must ignore unknown response keys. The body is read
as JSON whatever its Content-Type says (`application/json` with or without a charset is
what clients send).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .engine import PageText, RecognizeOptions
from .errors import CONTENT_TOO_LONG, INVALID_JSON, INVALID_PARAMETER, ApiError
from .limits import MAX_BASE64_CHARS

API_NAME = "general-text"
BOOL_OPTIONS = (
    "detect_direction",
    "quick_mode",
    "character_mode",
    "single_orientation_mode",
    "return_markdown_result",
)


@dataclass(frozen=True)
class GeneralTextRequest:
    image_b64: str
    options: RecognizeOptions


def parse_body(body: bytes) -> GeneralTextRequest:
    """Validate a general-text request body; ApiError with the Huawei code otherwise."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(INVALID_JSON, "The request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ApiError(INVALID_PARAMETER, "The request body must be a JSON object")

    image = _optional(data, "image", str)
    url = _optional(data, "url", str)
    if image and url:
        raise ApiError(INVALID_PARAMETER, "Give either image or url, not both")
    if not image and not url:
        raise ApiError(INVALID_PARAMETER, "One of image or url is required")
    if url:
        raise ApiError(
            INVALID_PARAMETER,
            "url input is not supported by this service yet; send the file's Base64 as image",
        )
    if len(image) > MAX_BASE64_CHARS:
        raise ApiError(
            CONTENT_TOO_LONG,
            f"The image is {len(image)} Base64 characters, "
            f"more than the limit of {MAX_BASE64_CHARS} (10 MB)",
        )

    flags = {name: _optional(data, name, bool) or False for name in BOOL_OPTIONS}
    _optional(data, "language", str)
    page = _optional(data, "pdf_page_number", int)
    if page is None:
        page = 1
    if page < 1:
        raise ApiError(INVALID_PARAMETER, "pdf_page_number must be 1 or more")
    return GeneralTextRequest(
        image_b64=image,
        options=RecognizeOptions(
            pdf_page_number=page, return_markdown=flags["return_markdown_result"]
        ),
    )


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


def response_body(page: PageText) -> dict[str, Any]:
    """`{"result": {...}}` as Huawei answers a successful general-text call."""
    result: dict[str, Any] = {
        "direction": -1,
        "words_block_count": len(page.blocks),
        "words_block_list": [block.as_json() for block in page.blocks],
    }
    if page.markdown is not None:
        result["markdown_result"] = page.markdown
    return {"result": result}
