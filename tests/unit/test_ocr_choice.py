"""Job files choosing an OCR API, its options and a region: what is accepted, and the
error (naming the key and what to write instead) for what is not."""

from __future__ import annotations

import pytest

from pipeline.config import JobSpec, parse_job
from pipeline.errors import ConfigError


def job(ocr: str = "", formats: str = '["json"]') -> JobSpec:
    if "region" not in ocr and "endpoint" not in ocr and "api" in ocr:
        ocr += '\nendpoint = "https://ocr.example.com"'  # the embedded one: text APIs only
    return parse_job(
        f'name = "j"\n[source]\nurl = "in"\n[ocr]\n{ocr}\n'
        f'[output]\nurl = "out"\nformats = {formats}\n'
    )


def error_of(ocr: str = "", formats: str = '["json"]') -> str:
    with pytest.raises(ConfigError) as caught:
        job(ocr, formats)
    return str(caught.value)


def test_any_api_of_the_catalogue_with_its_options() -> None:
    spec = job('api = "id-card"\noptions = {side = "front", return_verification = true}')
    assert spec.ocr.api == "id-card"
    assert spec.ocr.options == {"side": "front", "return_verification": True}
    assert job().ocr.api == "general-text"


def test_a_misspelt_api_names_the_closest() -> None:
    message = error_of('api = "vat-invoic"')
    assert "ocr.api: 'vat-invoic' is not a Huawei OCR API: did you mean 'vat-invoice'" in message


def test_an_unknown_option_names_the_valid_ones() -> None:
    message = error_of('api = "vat-invoice"\noptions = {advanced = true}')
    assert "vat-invoice has no option 'advanced'" in message
    assert "advanced_mode, return_text_location" in message
    assert "takes a bool" in error_of('api = "vat-invoice"\noptions = {advanced_mode = "on"}')


def test_the_shortcut_keys_must_be_fields_of_the_api() -> None:
    assert "id-card has no option 'detect_direction'" in error_of(
        'api = "id-card"\ndetect_direction = true')
    assert job('api = "web-image"\ndetect_direction = true').ocr.detect_direction


def test_the_embedded_service_takes_only_its_text_apis() -> None:
    message = error_of('api = "vat-invoice"\nendpoint = "embedded"')
    assert "vat-invoice needs Huawei Cloud OCR: set region" in message
    assert job('api = "handwriting"\nendpoint = "embedded"').ocr.api == "handwriting"


def test_an_api_without_an_image_field_is_refused() -> None:
    assert "reads no image" in error_of('api = "invoice-verification"')


def test_region_derives_the_endpoints() -> None:
    spec = job('region = "cn-north-4"')
    assert spec.ocr.endpoint == "https://ocr.cn-north-4.myhuaweicloud.com"
    token = job('region = "ap-southeast-1"\nauth = "token"\niam_user = "u"\n'
                'iam_domain = "d"\niam_project = "ap-southeast-1"')
    assert token.ocr.iam_endpoint == "https://iam.ap-southeast-1.myhuaweicloud.com"
    same = job('region = "cn-north-4"\nendpoint = "https://ocr.cn-north-4.myhuaweicloud.cn"')
    assert same.ocr.endpoint == "https://ocr.cn-north-4.myhuaweicloud.cn"


def test_an_endpoint_of_another_region_is_an_error() -> None:
    message = error_of('region = "cn-north-4"\n'
                       'endpoint = "https://ocr.cn-south-1.myhuaweicloud.com"')
    assert "is not the OCR endpoint of region 'cn-north-4'" in message
    assert "is not the OCR endpoint" in error_of('region = "cn-north-4"\nendpoint = "embedded"')
    assert "'cn-nort-4' is not a Huawei OCR region" in error_of('region = "cn-nort-4"')


def test_the_fields_table_needs_a_structured_api() -> None:
    assert job('api = "vat-invoice"', '["csv", "xlsx", "json"]').output.formats == (
        "csv", "xlsx", "json")
    message = error_of("", '["csv"]')
    assert "need a structured API" in message and "general-text answers text" in message


def test_ocrpipe_apis_lists_them_and_shows_one() -> None:
    from click.testing import CliRunner

    from pipeline.cli import main

    runner = CliRunner()
    listing = runner.invoke(main, ["apis"])
    assert listing.exit_code == 0
    lines = listing.output.splitlines()
    assert len(lines) == 51  # invoice-verification reads no image: not listed
    assert any(line.startswith("id-card ") and "side" in line for line in lines)
    one = runner.invoke(main, ["apis", "vat-invoice"])
    assert "advanced_mode: bool" in one.output and "buyer_name" in one.output
    wrong = runner.invoke(main, ["apis", "id-crd"])
    assert wrong.exit_code == 2 and "did you mean 'id-card'" in wrong.output
