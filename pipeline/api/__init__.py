"""The job API of `ocrpipe up`: submit, list, watch, cancel and retry jobs over HTTP."""

from pipeline.api.app import MAX_BODY, create_app

__all__ = ["MAX_BODY", "create_app"]
