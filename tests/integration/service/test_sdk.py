"""The official Huawei SDK (huaweicloudsdkocr) calls the embedded service unchanged but for
its endpoint: AK/SK signature, project id, Enterprise-Project-Id, errors.

The SDK is synchronous; `ocr_service` runs in its own thread, so these tests are plain
functions. HOME points at a temporary folder before the SDK is imported (it writes
~/.huaweicloud/application_id on import).
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import gc
import json
import ssl
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from pipeline.service.app import ServiceLimits, create_app
from pipeline.service.authfile import AuthConfig, hash_password
from pipeline.service.scripted import in_thread_engine
from pipeline.service.server import ServiceConfig
from pipeline.testing import make_page
from tests.support.service import TEST_PROJECT_ID, OcrService, ServiceThread, png

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


def ocr_client(service: OcrService, sk: str | None = None, ak: str | None = None) -> Any:
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkcore.http.http_config import HttpConfig
    from huaweicloudsdkocr.v1 import OcrClient

    config = HttpConfig.get_default_config()
    config.ignore_ssl_verification = service.url.startswith("https:")
    credentials = BasicCredentials(ak or service.ak, sk or service.sk, service.project_id)
    builder = OcrClient.new_builder().with_credentials(credentials).with_http_config(config)
    return builder.with_endpoint(service.url).build()


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


# ---- the official SDK over TLS (self-signed), every API we serve, errors, usage -----------

ADMIN_KEY = "sdk-admin-key"
TLS_AK, TLS_SK = "TLSAK0000000001", "tls-secret-0123"


def self_signed(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture(scope="module")
def tls_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OcrService]:
    cert, key = self_signed(tmp_path_factory.mktemp("tls"))
    auth = AuthConfig(
        credentials={TLS_AK: TLS_SK},
        admin_key_hash=hash_password(ADMIN_KEY, iterations=1000),
    )
    config = ServiceConfig(port=0, workers=1, auth=auth, cert=cert, key=key)
    thread = ServiceThread(config)
    url = thread.start()
    assert url.startswith("https://")
    try:
        yield OcrService(url=url, ak=TLS_AK, sk=TLS_SK, project_id=TEST_PROJECT_ID)
    finally:
        thread.stop()


def usage_rows(service: OcrService) -> dict[tuple[str, str], int]:
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    request = urllib.request.Request(f"{service.url}/v1/usage",
                                     headers={"X-Admin-Key": ADMIN_KEY})
    with urllib.request.urlopen(request, context=context, timeout=30) as response:
        body = json.load(response)
    return {(r["enterprise_project_id"], r["api"]): r["calls"] for r in body["usage"]}


# urllib3 warns on every unverified HTTPS request: that is what ignore_ssl_verification asks.
tls = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")


@tls
def test_sdk_over_tls_calls_every_api_and_usage_counts_them(
    sdk_home: Path, tls_service: OcrService, make_text_image: Callable[..., bytes]
) -> None:
    from huaweicloudsdkocr.v1 import (
        GeneralTextRequestBody,
        HandwritingRequestBody,
        RecognizeGeneralTextRequest,
        RecognizeHandwritingRequest,
        RecognizeSmartDocumentRecognizerRequest,
        RecognizeWebImageRequest,
        SmartDocumentRecognizerRequestBody,
        WebImageRequestBody,
    )

    image = base64.b64encode(make_text_image(["Invoice No. 4711"])).decode()
    client = ocr_client(tls_service)
    general = client.recognize_general_text(RecognizeGeneralTextRequest(
        enterprise_project_id="finance",
        body=GeneralTextRequestBody(image=image, detect_direction=True, character_mode=True)))
    assert general.result.direction == 0
    block = general.result.words_block_list[0]
    assert block.words == "Invoice No. 4711" and block.char_list

    web_image = client.recognize_web_image(RecognizeWebImageRequest(
        enterprise_project_id="finance", body=WebImageRequestBody(image=image)))
    assert [b.words for b in web_image.result.words_block_list] == ["Invoice No. 4711"]

    handwriting = client.recognize_handwriting(RecognizeHandwritingRequest(
        body=HandwritingRequestBody(image=image)))
    assert handwriting.result.words_block_count == 1

    document = client.recognize_smart_document_recognizer(
        RecognizeSmartDocumentRecognizerRequest(
            enterprise_project_id="finance",
            body=SmartDocumentRecognizerRequestBody(data=image)))
    (page,) = document.result
    assert [b.words for b in page.ocr_result.words_block_list] == ["Invoice No. 4711"]

    counts = usage_rows(tls_service)
    assert counts[("finance", "general-text")] == 1
    assert counts[("finance", "web-image")] == 1
    assert counts[("finance", "smart-document-recognizer")] == 1
    assert counts[("default", "handwriting")] == 1


@tls
def test_sdk_maps_each_error_class(sdk_home: Path, tls_service: OcrService) -> None:
    from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException

    def error_of(call: Callable[[], Any]) -> tuple[int, str]:
        with pytest.raises(ClientRequestException) as caught:
            call()
        assert len(caught.value.request_id) == 32
        return caught.value.status_code, caught.value.error_code

    client = ocr_client(tls_service)
    try:
        check_errors(client, error_of)
    finally:
        client.get_http_client().close()
        # The SDK leaves the connection of each error answer unreleased, held by garbage:
        # collect it now, so the client closes it while the TLS service still runs.
        gc.collect()


def check_errors(client: Any, error_of: Callable[..., tuple[int, str]]) -> None:
    from huaweicloudsdkocr.v1 import (
        GeneralTableRequestBody,
        GeneralTextRequestBody,
        RecognizeGeneralTableRequest,
        RecognizeGeneralTextRequest,
    )

    table = RecognizeGeneralTableRequest(body=GeneralTableRequestBody(image="aGVsbG8="))
    assert error_of(lambda: client.recognize_general_table(table)) == (403, "ModelArts.4204")
    url = RecognizeGeneralTextRequest(body=GeneralTextRequestBody(url="http://127.0.0.1/x.png"))
    assert error_of(lambda: client.recognize_general_text(url)) == (400, "ModelArts.4601")
    lang = RecognizeGeneralTextRequest(body=GeneralTextRequestBody(image="aGVsbG8=",
                                                                   language="ja"))
    assert error_of(lambda: client.recognize_general_text(lang)) == (400, "AIS.0101")


async def test_sdk_sees_backend_timeout_and_throttling(sdk_home: Path) -> None:
    from huaweicloudsdkcore.exceptions.exceptions import (
        ClientRequestException,
        ServerResponseException,
    )
    from huaweicloudsdkocr.v1 import GeneralTextRequestBody, RecognizeGeneralTextRequest

    app = create_app(in_thread_engine(delay=0.3, queue_size=4),
                     AuthConfig(credentials={"AK": "SK"}),
                     limits=ServiceLimits(request_timeout=0.1, rate_limit_per_minute=1))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    service = OcrService(url=f"http://127.0.0.1:{runner.addresses[0][1]}", ak="AK", sk="SK",
                         project_id=TEST_PROJECT_ID)
    page = base64.b64encode(png(make_page("sdk", (160, 80)))).decode()
    request = RecognizeGeneralTextRequest(body=GeneralTextRequestBody(image=page))
    client = ocr_client(service)
    try:
        with pytest.raises(ServerResponseException) as timed_out:
            await asyncio.to_thread(client.recognize_general_text, request)
        with pytest.raises(ClientRequestException) as throttled:
            await asyncio.to_thread(client.recognize_general_text, request)
    finally:
        client.get_http_client().close()
        await runner.cleanup()
    assert (timed_out.value.status_code, timed_out.value.error_code) == (504, "APIG.0201")
    assert (throttled.value.status_code, throttled.value.error_code) == (429, "APIG.0308")
