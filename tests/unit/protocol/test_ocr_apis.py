"""The OCR API catalogue: generated from the installed official SDK and kept in the repo
(`pipeline/protocol/ocr_apis.json`, `pipeline/testing/ocr_samples.json`); the files must
be what the generator makes from the SDK now, so they cannot drift. Then what the
catalogue answers: each API's image field and options, suggestions for a misspelt name,
option checks, regions."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.protocol import apis

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning:huaweicloudsdkcore.*"),
]


@pytest.fixture
def sdk_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))  # the SDK writes ~/.huaweicloud on import
    return tmp_path


def test_the_files_in_the_repo_are_what_the_installed_sdk_generates(sdk_home: Path) -> None:
    from benchmarks import ocr_catalogue

    assert ocr_catalogue.CATALOGUE.read_text(encoding="utf-8") == ocr_catalogue.dump(
        ocr_catalogue.catalogue()
    ), "run python -m benchmarks.ocr_catalogue"
    assert ocr_catalogue.SAMPLES.read_text(encoding="utf-8") == ocr_catalogue.dump(
        ocr_catalogue.samples()
    ), "run python -m benchmarks.ocr_catalogue"


def test_every_method_of_the_sdk_client_is_in_the_catalogue(sdk_home: Path) -> None:
    from huaweicloudsdkocr.v1 import OcrClient

    methods = {n for n in vars(OcrClient) if n.startswith("recognize_")
               and not n.endswith("_invoker") and not n.startswith("_")}
    assert methods == {a.method for a in apis.all_apis().values()}
    assert len(apis.all_apis()) == 52


def test_image_fields_and_kinds_follow_each_api() -> None:
    assert apis.api("general-text").image_field == "image"
    assert apis.api("smart-document-recognizer").image_field == "data"
    assert apis.api("seal").image_field == "data"
    assert apis.api("invoice-verification").image_field is None
    assert apis.api("general-text").pdf_page_number and not apis.api("id-card").pdf_page_number
    assert apis.api("vat-invoice").kind == "structured"
    assert apis.api("general-table").kind == "text"
    assert apis.api("auto-classification").result == "list"
    assert "side" in apis.api("id-card").options
    assert "image" not in apis.api("id-card").options
    assert apis.api("vat-invoice").columns[:3] == ("title", "type", "invoice_tag")
    assert "verification_result.valid_number" in apis.api("id-card").columns


def test_an_unknown_api_suggests_the_closest() -> None:
    with pytest.raises(apis.UnknownApi, match="did you mean 'vat-invoice'"):
        apis.api("vat-invoic")
    with pytest.raises(apis.UnknownApi, match="the 52 known APIs"):
        apis.api("zzzzzz")


def test_options_are_checked_against_the_request_model() -> None:
    id_card = apis.api("id-card")
    assert apis.check_options(id_card, {"side": "front", "return_verification": True}) == []
    [unknown] = apis.check_options(id_card, {"sid": "front"})
    assert "id-card has no option 'sid'" in unknown and "side" in unknown
    [typed] = apis.check_options(id_card, {"return_verification": "yes"})
    assert "takes a bool" in typed
    [ours] = apis.check_options(id_card, {"image": "x"})
    assert "sent by ocrpipe itself" in ours
    assert apis.check_options(apis.api("auto-classification"), {"type_list": ["id_card"]}) == []
    assert apis.check_options(apis.api("auto-classification"), {"type_list": "id_card"})


def test_regions_come_from_the_sdk_table() -> None:
    assert apis.region_endpoint("cn-north-4") == "https://ocr.cn-north-4.myhuaweicloud.com"
    assert apis.iam_endpoint("ap-southeast-1") == "https://iam.ap-southeast-1.myhuaweicloud.com"
    assert "https://ocr.cn-north-4.myhuaweicloud.cn" in apis.region_hosts("cn-north-4")
    with pytest.raises(apis.UnknownRegion, match="cn-north-4"):
        apis.region_endpoint("cn-nowhere-9")
