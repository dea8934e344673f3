"""Generate the OCR API catalogue and the fake answers from the official Huawei SDK.

    python -m benchmarks.ocr_catalogue          # rewrite both files
    python -m benchmarks.ocr_catalogue --check  # exit 1 if either is out of date

Not a benchmark: a generator kept beside them because it needs a dev dependency,
`huaweicloudsdkocr`, that the runtime never imports. It writes

- `pipeline/protocol/ocr_apis.json`: every API of `huaweicloudsdkocr.v1.OcrClient` (its
  name in the URL path, the SDK method, the request body's fields and types, the image
  field, whether it takes `pdf_page_number`, text or structured, whether `result` is an
  object or a list, and the flattened result columns) and the OCR regions of
  `OcrRegion`. `pipeline.protocol.apis` reads it.
- `pipeline/testing/ocr_samples.json`: for each API, a 200 body built from the SDK's own
  response model: an instance populated field by field and serialised with `to_dict`.
  The testing kit's `FakeOcrServer` answers structured APIs with these.

The unit test `tests/unit/protocol/test_ocr_apis.py` regenerates both in memory and
compares, so the files cannot drift from the installed SDK.
"""

from __future__ import annotations

import argparse
import inspect
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "pipeline" / "protocol" / "ocr_apis.json"
SAMPLES = ROOT / "pipeline" / "testing" / "ocr_samples.json"

TEXT_APIS = frozenset(
    {"general-text", "web-image", "handwriting", "general-table", "smart-document-recognizer"}
)
"""APIs whose answer is text with boxes (every output format); the rest are structured."""
IMAGE_FIELDS = ("image", "data")
PRIMITIVES = {"str", "int", "float", "bool", "object"}
_LIST = re.compile(r"^list\[(.*)\]$")
_DICT = re.compile(r"^dict\(([^,]*), (.*)\)$")


def _sdk() -> tuple[Any, Any, Any]:
    from huaweicloudsdkocr.v1 import OcrClient, model
    from huaweicloudsdkocr.v1.region.ocr_region import OcrRegion

    return OcrClient, model, OcrRegion


def _camel(method: str) -> str:
    return "".join(part.capitalize() for part in method.split("_"))


def _model_class(model: Any, type_name: str) -> Any | None:
    cls = getattr(model, type_name, None)
    return cls if inspect.isclass(cls) and hasattr(cls, "openapi_types") else None


def _columns(model: Any, type_name: str, prefix: str = "") -> list[str]:
    """Result columns of a model type: nested models flattened with dots; lists, maps and
    free objects stay one column (written as JSON text)."""
    cls = _model_class(model, type_name)
    if cls is None or not cls.openapi_types:
        return [prefix.rstrip(".")] if prefix else []
    out: list[str] = []
    for attr, sub in cls.openapi_types.items():
        key = cls.attribute_map.get(attr, attr)
        nested = _model_class(model, sub)
        if nested is not None and nested.openapi_types:
            out.extend(_columns(model, sub, f"{prefix}{key}."))
        else:
            out.append(prefix + key)
    return out


def catalogue() -> dict[str, Any]:
    """The catalogue, computed from the installed SDK."""
    client, model, region = _sdk()
    import huaweicloudsdkocr

    apis: dict[str, Any] = {}
    for name, fn in sorted(vars(client).items()):
        match = re.fullmatch(r"_(\w+)_http_info", name)
        if match is None:
            continue
        method = match.group(1)
        request_cls = getattr(model, _camel(method) + "Request")
        info = fn.__func__(client, request_cls())
        path = info["resource_path"]
        api = path.rsplit("/", 1)[1]
        body_type = request_cls.openapi_types["body"]
        body_cls = getattr(model, body_type)
        fields = {body_cls.attribute_map[a]: t for a, t in body_cls.openapi_types.items()}
        result_type = getattr(model, info["response_type"]).openapi_types["result"]
        item_type = _LIST.match(result_type)
        apis[api] = {
            "method": method,
            "path": path,
            "request_model": body_type,
            "response_model": info["response_type"],
            "fields": fields,
            "image_field": next((f for f in IMAGE_FIELDS if f in fields), None),
            "url": "url" in fields,
            "pdf_page_number": "pdf_page_number" in fields,
            "kind": "text" if api in TEXT_APIS else "structured",
            "result": "list" if item_type else "object",
            "columns": _columns(model, item_type.group(1) if item_type else result_type),
        }
    regions = {
        rid: {"ocr": r.endpoints[0], "endpoints": list(r.endpoints)}
        for rid, r in sorted(region.static_fields.items())
    }
    return {
        "sdk": "huaweicloudsdkocr",
        "sdk_version": huaweicloudsdkocr.__version__
        if hasattr(huaweicloudsdkocr, "__version__") else _installed_version(),
        "apis": apis,
        "regions": regions,
    }


def _installed_version() -> str:
    from importlib.metadata import version

    return version("huaweicloudsdkocr")


def _value(model: Any, type_name: str, name: str, depth: int) -> Any:
    """A populated value of an SDK type: strings carry their field's name (the fake
    prefixes them with the page's tag), one element per list."""
    listed = _LIST.match(type_name)
    if listed:
        return [_value(model, listed.group(1), name, depth + 1)]
    mapped = _DICT.match(type_name)
    if mapped:
        return {name: _value(model, mapped.group(2), name, depth + 1)}
    if type_name == "str":
        return name
    if type_name == "int":
        return 1
    if type_name == "float":
        return 0.9
    if type_name == "bool":
        return True
    if type_name == "object":
        return {name: 0.9} if "confidence" in name else {"value": name}
    cls = _model_class(model, type_name)
    if cls is None:
        raise ValueError(f"unknown SDK type {type_name!r}")
    if not cls.openapi_types:  # an enum-like model: the SDK keeps its value as given
        return name
    kwargs = {}
    for attr, sub in cls.openapi_types.items():
        if depth < 12 or sub in PRIMITIVES:
            kwargs[attr] = _value(model, sub, cls.attribute_map.get(attr, attr), depth + 1)
    return cls(**kwargs)


def serialised(value: Any) -> Any:
    """SDK model instances as the JSON the wire carries, with the SDK's own serialiser.

    Not the models' `to_dict`: it keys by Python attribute name, which differs from the
    wire name where the name is a Python keyword (driver-license's `class` is `_class`
    there), and the SDK's deserialiser would then drop that field. The response classes'
    `to_dict` is deprecated besides, so the `result` inside them is serialised."""
    from huaweicloudsdkcore.utils.http_utils import sanitize_for_serialization

    return sanitize_for_serialization(value)


def samples() -> dict[str, Any]:
    """For every API: its 200 body, the SDK response model's `result` populated with an
    instance of its own type, serialised with `to_dict`."""
    _, model, _ = _sdk()
    out: dict[str, Any] = {}
    for api, entry in catalogue()["apis"].items():
        response_cls = getattr(model, entry["response_model"])
        result_type = response_cls.openapi_types["result"]
        response = response_cls(result=_value(model, result_type, "result", 0))
        out[api] = {"result": serialised(response.result)}
    return out


def dump(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=1, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, write nothing")
    args = parser.parse_args(argv)
    wanted = {CATALOGUE: dump(catalogue()), SAMPLES: dump(samples())}
    stale = [p for p, text in wanted.items()
             if not p.exists() or p.read_text(encoding="utf-8") != text]
    if args.check:
        for path in stale:
            print(f"{path.relative_to(ROOT)} is out of date: "
                  "run python -m benchmarks.ocr_catalogue")
        return 1 if stale else 0
    for path, text in wanted.items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
