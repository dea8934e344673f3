"""The official Huawei SDK (huaweicloudsdkocr) calls the embedded service unchanged but for
its endpoint: AK/SK signature, project id, Enterprise-Project-Id, errors.

The SDK is synchronous; `ocr_service` runs in its own thread, so these tests are plain
functions. HOME points at a temporary folder before the SDK is imported (it writes
~/.huaweicloud/application_id on import).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import OcrService

pytestmark = [
    # The SDK's signer calls datetime.utcnow(), deprecated from Python 3.12.
    pytest.mark.filterwarnings("ignore::DeprecationWarning:huaweicloudsdkcore.*"),
]


@pytest.fixture
def sdk_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in (
        "HUAWEICLOUD_SDK_AK",
        "HUAWEICLOUD_SDK_SK",
        "HUAWEICLOUD_SDK_PROJECT_ID",
        "HUAWEICLOUD_SDK_REGION_OCR_CN_NORTH_4",
    ):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def ocr_client(service: OcrService, sk: str | None = None) -> Any:
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkocr.v1 import OcrClient

    credentials = BasicCredentials(service.ak, sk or service.sk, service.project_id)
    return OcrClient.new_builder().with_credentials(credentials).with_endpoint(service.url).build()


def test_sdk_recognizes_general_text(
    sdk_home: Path, ocr_service: OcrService, make_text_image: Callable[..., bytes]
) -> None:
    from huaweicloudsdkocr.v1 import GeneralTextRequestBody, RecognizeGeneralTextRequest

    image = base64.b64encode(make_text_image(["Invoice No. 4711", "Total 99.50"])).decode()
    request = RecognizeGeneralTextRequest(
        enterprise_project_id="finance",
        body=GeneralTextRequestBody(image=image, detect_direction=True),
    )
    response = ocr_client(ocr_service).recognize_general_text(request)

    assert response.status_code == 200
    assert len(response.x_request_id) == 32
    result = response.result
    assert [block.words for block in result.words_block_list] == [
        "Invoice No. 4711",
        "Total 99.50",
    ]
    assert result.words_block_count == 2
    assert all(len(block.location) == 4 for block in result.words_block_list)


def test_sdk_with_wrong_secret_gets_apig_0301(
    sdk_home: Path, ocr_service: OcrService, make_text_image: Callable[..., bytes]
) -> None:
    from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
    from huaweicloudsdkocr.v1 import GeneralTextRequestBody, RecognizeGeneralTextRequest

    image = base64.b64encode(make_text_image(["Never read"])).decode()
    request = RecognizeGeneralTextRequest(body=GeneralTextRequestBody(image=image))
    with pytest.raises(ClientRequestException) as caught:
        ocr_client(ocr_service, sk="not-the-secret").recognize_general_text(request)

    assert caught.value.status_code == 401
    assert caught.value.error_code == "APIG.0301"
    assert len(caught.value.request_id) == 32


def test_sdk_sees_input_errors(sdk_home: Path, ocr_service: OcrService) -> None:
    from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
    from huaweicloudsdkocr.v1 import GeneralTextRequestBody, RecognizeGeneralTextRequest

    body = GeneralTextRequestBody(image=base64.b64encode(b"plain text").decode())
    with pytest.raises(ClientRequestException) as caught:
        ocr_client(ocr_service).recognize_general_text(RecognizeGeneralTextRequest(body=body))

    assert caught.value.status_code == 400
    assert caught.value.error_code == "AIS.0102"
