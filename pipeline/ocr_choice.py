"""`[ocr]` keys that depend on the API catalogue: `api`, `options` and `region`.

`config.OcrSpec` calls these from its validators; each raises ValueError with words a
user can act on (pydantic reports it under the key, `config` turns it into ConfigError):

    api = "vat-invoic"            -> 'vat-invoic' is not a Huawei OCR API: did you mean ...?
    options = {sid = "front"}     -> id-card has no option 'sid'; its options: side, ...
    region = "cn-north-4"         -> endpoint https://ocr.cn-north-4.myhuaweicloud.com
    region + an endpoint of another region -> an error naming both
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from yarl import URL

from pipeline.protocol import apis


def with_region(data: Any) -> Any:
    """Job-file `[ocr]` data with the endpoint (and, for token auth, the IAM endpoint)
    derived from `region`; ValueError when a given endpoint is not the region's."""
    if not isinstance(data, Mapping) or data.get("region") is None:
        return data
    region = data["region"]
    if not isinstance(region, str):
        raise ValueError("region must be a string such as 'cn-north-4'")
    try:
        derived = apis.region_endpoint(region)
    except apis.UnknownRegion as exc:
        raise ValueError(str(exc)) from None
    out = dict(data)
    endpoint = out.get("endpoint")
    if endpoint is None:
        out["endpoint"] = derived
    elif not _same_host(str(endpoint), apis.region_hosts(region)):
        raise ValueError(
            f"endpoint {endpoint!r} is not the OCR endpoint of region {region!r} "
            f"({derived}): give one of the two, or make them agree"
        )
    if out.get("auth") == "token" and out.get("iam_endpoint") is None:
        out["iam_endpoint"] = apis.iam_endpoint(region)
    return out


def _same_host(endpoint: str, hosts: tuple[str, ...]) -> bool:
    url = URL(endpoint)
    return any(URL(h).host == url.host and URL(h).scheme == url.scheme for h in hosts)


def known_api(name: str) -> str:
    """`name` if the catalogue holds it, else ValueError suggesting the closest."""
    try:
        apis.api(name)
    except apis.UnknownApi as exc:
        raise ValueError(str(exc)) from None
    return name


def check_api(
    name: str, options: Mapping[str, object], *, detect_direction: bool, language: str | None,
    endpoint: str = "",
) -> None:
    """ValueError unless `name` is a known API that reads images (and that the embedded
    service answers, when `endpoint` is "embedded") and `options` (with the
    `detect_direction` and `language` shortcuts) are fields of its request."""
    target = apis.api(known_api(name))
    if endpoint == "embedded" and name not in apis.EMBEDDED_APIS:
        raise ValueError(
            f"the embedded OCR service answers only {', '.join(apis.EMBEDDED_APIS)}; "
            f"{name} needs Huawei Cloud OCR: set region (e.g. \"cn-north-4\") or endpoint"
        )
    if target.image_field is None:
        raise ValueError(f"{name!r} reads no image (it takes typed-in fields): ocrpipe "
                         "cannot send pages to it")
    shortcuts: dict[str, object] = {}
    if detect_direction:
        shortcuts["detect_direction"] = True
    if language is not None:
        shortcuts["language"] = language
    problems = apis.check_options(target, {**shortcuts, **options})
    if problems:
        raise ValueError("; ".join(problems))


def check_table_formats(name: str, formats: tuple[str, ...]) -> None:
    """ValueError when the fields table (csv, xlsx) is asked of a text API."""
    table = [f for f in formats if f in ("csv", "xlsx")]
    if table and apis.api(name).kind == "text":
        raise ValueError(
            f"output.formats {', '.join(table)} (the fields table) need a structured API "
            f"such as vat-invoice or id-card; {name} answers text: use txt, json, docx or pdf"
        )


def request_options(
    options: Mapping[str, object], *, detect_direction: bool, language: str | None
) -> tuple[tuple[str, object], ...]:
    """The extra body fields of every call, as sorted (name, value) pairs."""
    merged: dict[str, object] = dict(options)
    if detect_direction:
        merged["detect_direction"] = True
    if language:
        merged["language"] = language
    return tuple(sorted(merged.items()))
