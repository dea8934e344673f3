"""Header names, environment variable names and paths of the protocol (protocol.md §1, §3)."""

from __future__ import annotations

# Headers
AUTHORIZATION = "Authorization"
SDK_DATE = "X-Sdk-Date"
"""The signing time, `YYYYMMDDTHHMMSSZ` (UTC); always signed."""
CONTENT_SHA256 = "X-Sdk-Content-Sha256"
SECURITY_TOKEN = "X-Security-Token"
"""Sent with a temporary AK/SK."""
AUTH_TOKEN = "X-Auth-Token"
"""An IAM token, instead of a signature."""
SUBJECT_TOKEN = "X-Subject-Token"
"""The header IAM returns a new token in."""
ENTERPRISE_PROJECT = "Enterprise-Project-Id"
"""The enterprise project a call is billed to."""
REQUEST_ID = "X-Request-Id"
RETRY_AFTER = "Retry-After"

# Environment variables the official SDK reads for a permanent AK/SK
ENV_AK = "HUAWEICLOUD_SDK_AK"
ENV_SK = "HUAWEICLOUD_SDK_SK"

# Paths
DEFAULT_ENTERPRISE_PROJECT = "default"
TOKENS_PATH = "/v3/auth/tokens"
API_ROUTE = "/v2/{project_id}/ocr/{api}"


def api_path(project_id: str, api: str) -> str:
    """The path of one OCR API for one project: `/v2/{project_id}/ocr/{api}`."""
    return API_ROUTE.format(project_id=project_id, api=api)
