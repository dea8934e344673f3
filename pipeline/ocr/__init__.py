"""The OCR client: the Huawei Cloud OCR protocol, AK/SK auth, limits and retries.

    OcrClient      (client.py)       one signed call -> OcrResult or a typed OcrError
    LimitedClient  (policy.py)       QPS + concurrency limits, retries, the attempt hook
    Credentials    (credentials.py)  AK/SK from the environment or a credentials file
    errors_map.py                    error answers -> the error tree; extra error classes
    token.py                         IAM tokens (auth = "token"), fetched and refreshed

What the client shares with the service (codes, limits, header names, signing) is in
`pipeline.protocol`.
"""

from pipeline.ocr.client import Answer, OcrClient
from pipeline.ocr.credentials import Credentials, load_credentials
from pipeline.ocr.errors_map import (
    ConnectFailed,
    EndpointUnreachable,
    PayloadTooLarge,
    TokenExpired,
)
from pipeline.ocr.policy import AttemptHook, LimitedClient, RetryPolicy

__all__ = [
    "Answer",
    "AttemptHook",
    "ConnectFailed",
    "Credentials",
    "EndpointUnreachable",
    "LimitedClient",
    "OcrClient",
    "PayloadTooLarge",
    "RetryPolicy",
    "TokenExpired",
    "load_credentials",
]
