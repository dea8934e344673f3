"""What the OCR client and the OCR service share: the wire protocol of Huawei Cloud OCR
(../shared/protocol.md), defined once.

    names.py        header names, environment variable names, API paths
    codes.py        error codes with their HTTP status, code families, the error body shape
    limits.py       input limits (body size, Base64 size, sides, pixels)
    signing.py      SDK-HMAC-SHA256: sign a request (client), verify one (service)
    credentials.py  the AK/SK pair from the environment, the private-file check
    images.py       pixel normalisation both sides apply before OCR
    addresses.py    which addresses are public: the SSRF guard of `url` inputs and webhooks

This package imports nothing else of `pipeline`: the client (`pipeline.ocr`, the page
preparation) and the service (`pipeline.service`) both import it, never each other
(the import-linter contracts in pyproject.toml keep it so).
"""
