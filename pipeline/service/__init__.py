"""The embedded OCR service (`ocrpipe serve`): Huawei Cloud OCR's general-text API over
RapidOCR, with AK/SK signature checks. See server.py for the entry points.

    app.py           routes, request ids, error answers, the per-request log line
    auth.py          credentials (auth file, environment) and the signature middleware
    general_text.py  the general-text request and response bodies
    engine.py        RapidOCR in worker processes
    images.py        Base64 / image / PDF page decoding and the size limits (in the workers)
    layout.py        text blocks, reading order, markdown
    limits.py        the protocol's size limits, the capped body reader
    errors.py        Huawei error codes and bodies
    server.py        ServiceConfig, load_credentials, serve, running_service
"""

from .server import ServiceConfig, load_credentials, running_service, serve

__all__ = ["ServiceConfig", "load_credentials", "running_service", "serve"]
