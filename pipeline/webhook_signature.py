"""How ocrpipe signs what it POSTs to a webhook (job ends, billing alerts): an
`X-Ocrpipe-Signature: sha256=<hex>` header, HMAC-SHA256 over the raw body with the secret
in $OCRPIPE_WEBHOOK_SECRET. A receiver recomputes it over the body it got and compares in
constant time.

Apart from `webhooks.py` (the job webhooks' outbox and sender) so that billing alerts sign
the same way without importing the job API's views.
"""

from __future__ import annotations

import hashlib
import hmac

SECRET_ENV = "OCRPIPE_WEBHOOK_SECRET"
SIGNATURE_HEADER = "X-Ocrpipe-Signature"


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
